// Memory files with a sealed size (detail/memory_file.hpp says why).

#include "trident/proc/detail/memory_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>

#include "trident/proc/errors.hpp"

namespace trident::proc::detail {

namespace {

constexpr int size_seals = F_SEAL_SHRINK | F_SEAL_GROW;

[[noreturn]] void throw_errno(int e, const char* name, const char* step) {
  throw std::system_error(e, std::generic_category(), std::string(step) + " of memory file " + name);
}

}  // namespace

int make_memory_file(const char* name) {
  const int fd = ::memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) throw_errno(errno, name, "memfd_create");
  return fd;
}

void seal_memory_file_size(int fd) {
  if (::fcntl(fd, F_ADD_SEALS, size_seals | F_SEAL_SEAL) != 0) {
    throw std::system_error(errno, std::generic_category(), "sealing the size of a memory file");
  }
}

int make_sealed_memory_file(const char* name, std::size_t bytes) {
  const int fd = make_memory_file(name);
  if (::ftruncate(fd, static_cast<off_t>(bytes)) != 0) {
    const int e = errno;
    ::close(fd);
    throw_errno(e, name, "ftruncate");
  }
  try {
    seal_memory_file_size(fd);
  } catch (...) {
    ::close(fd);
    throw;
  }
  return fd;
}

std::uint64_t sealed_memory_file_size(int fd, std::string_view what) {
  const int seals = ::fcntl(fd, F_GET_SEALS);
  if (seals < 0) {
    throw protocol_error(std::string(what) + ": the descriptor is not a memory file");
  }
  if ((seals & size_seals) != size_seals) {
    throw protocol_error(std::string(what) +
                         ": the memory file's size is not sealed, so its maker could shrink it "
                         "under this process's mapping");
  }
  struct ::stat st {};
  if (::fstat(fd, &st) != 0 || st.st_size < 0) {
    throw protocol_error(std::string(what) + ": cannot read the memory file's size");
  }
  return static_cast<std::uint64_t>(st.st_size);
}

}  // namespace trident::proc::detail
