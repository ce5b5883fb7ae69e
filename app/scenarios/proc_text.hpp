#pragma once
/// @file
/// Reading /proc files of processes that may exit meanwhile (the scenario services, the
/// PostgreSQL server's processes, and the tests that watch them).

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>

namespace trident::scenarios {

/// The file's content; what could be read when reading fails midway; empty when it cannot be
/// opened. With read(2), not a stream: a /proc file of a process that exits while it is read
/// fails with ESRCH, which libstdc++'s filebuf turns into an exception. Thread safe.
inline std::string read_proc_text(const std::filesystem::path& path) {
  std::string text;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return text;
  char chunk[4096];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

}  // namespace trident::scenarios
