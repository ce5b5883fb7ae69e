#include "trident/testing/temp_dir.hpp"

#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

namespace trident::testing {

temp_dir::temp_dir(std::string_view prefix) {
  std::string name = (std::filesystem::temp_directory_path() / prefix).string() + "-XXXXXX";
  if (::mkdtemp(name.data()) == nullptr) throw std::system_error(errno, std::generic_category(), "mkdtemp " + name);
  path = name;
}

temp_dir::~temp_dir() {
  std::error_code ignored;  // a test that failed half way must not also throw from here
  std::filesystem::remove_all(path, ignored);
}

std::vector<std::string> temp_dir::names(const std::filesystem::path& sub) const {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(path / sub)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace trident::testing
