#include "output_folder.hpp"

#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "exit_codes.hpp"

namespace trident::cli {

void prepare_output_folder(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (!ec && !std::filesystem::is_directory(dir, ec)) ec = std::make_error_code(std::errc::not_a_directory);
  if (!ec && ::access(dir.c_str(), W_OK | X_OK) != 0) ec = std::error_code(errno, std::generic_category());
  if (ec) throw usage_error("cannot save into output folder '" + dir.string() + "': " + ec.message());
}

}  // namespace trident::cli
