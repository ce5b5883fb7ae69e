#include "program_path.hpp"

#include <system_error>

namespace trident::app {

std::filesystem::path beside_this_program(std::string_view executable) {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return std::filesystem::path(executable);
  return self.parent_path() / executable;
}

}  // namespace trident::app
