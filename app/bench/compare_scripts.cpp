#include "compare_scripts.hpp"

#include <cstdlib>
#include <stdexcept>
#include <system_error>

#ifndef TRIDENT_BENCH_SHARE_FROM_BIN
#define TRIDENT_BENCH_SHARE_FROM_BIN "../share/trident"
#endif

namespace trident::bench {

std::filesystem::path compare_dir() {
  if (const char* dir = std::getenv("TRIDENT_BENCH_COMPARE_DIR"); dir != nullptr && dir[0] != '\0') return dir;
  // /proc/self/exe, not argv[0]: it names the binary itself whatever the PATH or the working
  // directory, and it is how the process suite's workers re-execute the program anyway.
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw std::system_error(ec, "cannot find the running program through /proc/self/exe");
  return (exe.parent_path() / TRIDENT_BENCH_SHARE_FROM_BIN / "compare").lexically_normal();
}

std::string compare_script(const std::string& relative) { return (compare_dir() / relative).string(); }

std::string python_interpreter() {
  if (const char* p = std::getenv("TRIDENT_BENCH_PYTHON")) return p;
  return std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

}  // namespace trident::bench
