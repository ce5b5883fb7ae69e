#include "trident/core/atomic_file.hpp"

#include <fcntl.h>
#include <stdio.h>  // renameat2, RENAME_NOREPLACE
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <string>
#include <string_view>
#include <utility>

namespace trident {

namespace {

[[noreturn]] void fail(int err, const std::string& what, const std::filesystem::path& path) {
  throw std::system_error(err, std::generic_category(), what + " " + path.string());
}

std::filesystem::path directory_of(const std::filesystem::path& target) {
  const auto dir = target.parent_path();
  return dir.empty() ? std::filesystem::path(".") : dir;
}

/// What stands between a target's name and its writer's PID in a named temporary's name.
constexpr std::string_view temporary_marker = ".part-";

/// `<target>.part-<pid>-<n>`: beside the target (so a rename stays on one file system), and a
/// stray one left by a killed writer names its process (`temporary_writer` reads it back).
std::filesystem::path temporary_name(const std::filesystem::path& target) {
  static std::atomic<std::uint64_t> counter{0};
  return target.string() + std::string(temporary_marker) + std::to_string(::getpid()) + "-" +
         std::to_string(counter.fetch_add(1, std::memory_order_relaxed));
}

/// The writer's PID in a name that `temporary_name` made, or 0 when `name` is not such a name.
pid_t temporary_writer(std::string_view name) {
  const auto marker = name.rfind(temporary_marker);
  if (marker == std::string_view::npos || marker == 0) return 0;
  const std::string_view rest = name.substr(marker + temporary_marker.size());
  const auto dash = rest.find('-');
  auto digits = [](std::string_view t) {
    return !t.empty() && std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  // A pid_t has at most 9 digits here (pid_max is at most 2^22).
  if (dash == std::string_view::npos || dash > 9 || !digits(rest.substr(0, dash)) || !digits(rest.substr(dash + 1))) {
    return 0;
  }
  return static_cast<pid_t>(std::stol(std::string(rest.substr(0, dash))));
}

/// Opens a fresh named temporary beside `target` (O_EXCL: never an existing file).
int open_named_temporary(const std::filesystem::path& target, unsigned mode, std::filesystem::path& name) {
  for (int tries = 0;; ++tries) {
    name = temporary_name(target);
    const int fd = ::open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, static_cast<mode_t>(mode));
    if (fd >= 0) return fd;
    if (errno != EEXIST || tries > 100) fail(errno, "cannot create a file beside", target);
  }
}

void fsync_or_fail(int fd, const std::filesystem::path& path) {
  while (::fsync(fd) != 0) {
    if (errno != EINTR) fail(errno, "cannot sync", path);
  }
}

void fsync_directory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail(errno, "cannot open the directory", dir);
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } c{fd};
  fsync_or_fail(fd, dir);
}

}  // namespace

atomic_file::atomic_file(std::filesystem::path target, options opts) : target_(std::move(target)), options_(opts) {
  // Refuse early, before any content is produced; commit() checks again, atomically.
  struct stat st {};
  if (options_.if_exists == existing::refuse && ::lstat(target_.c_str(), &st) == 0) {
    fail(EEXIST, "refusing to replace the existing file", target_);
  }
  const auto mode = static_cast<mode_t>(options_.mode);
  if (options_.unnamed_temporary) {
    fd_ = ::open(directory_of(target_).c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
    if (fd_ >= 0) return;
    // The file system (or an old kernel) has no O_TMPFILE: fall back to a named temporary.
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) fail(errno, "cannot create a file beside", target_);
  }
  fd_ = open_named_temporary(target_, options_.mode, temporary_);
}

atomic_file::atomic_file(atomic_file&& other) noexcept
    : target_(std::move(other.target_)),
      temporary_(std::move(other.temporary_)),
      options_(other.options_),
      fd_(std::exchange(other.fd_, -1)) {
  other.temporary_.clear();
}

atomic_file& atomic_file::operator=(atomic_file&& other) noexcept {
  if (this != &other) {
    abandon();
    target_ = std::move(other.target_);
    temporary_ = std::move(other.temporary_);
    other.temporary_.clear();
    options_ = other.options_;
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

atomic_file::~atomic_file() { abandon(); }

void atomic_file::write(std::span<const char> bytes, std::error_code& ec) noexcept {
  ec.clear();
  if (fd_ < 0) {
    ec = std::make_error_code(std::errc::bad_file_descriptor);
    return;
  }
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      ec.assign(errno, std::generic_category());
      return;
    }
    bytes = bytes.subspan(static_cast<std::size_t>(n));  // a short write: the rest goes next round
  }
}

void atomic_file::write(std::span<const char> bytes) {
  std::error_code ec;
  write(bytes, ec);
  if (ec) fail(ec.value(), "cannot write", target_);
}

void atomic_file::rewind() {
  if (fd_ < 0 || ::ftruncate(fd_, 0) != 0 || ::lseek(fd_, 0, SEEK_SET) != 0) {
    fail(fd_ < 0 ? EBADF : errno, "cannot empty the file for", target_);
  }
}

void atomic_file::link_unnamed_to(const std::filesystem::path& name) {
  // Through /proc, linkat needs no privilege; AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH, so it
  // is the fallback for systems without /proc only.
  const std::string proc = "/proc/self/fd/" + std::to_string(fd_);
  if (::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, name.c_str(), AT_SYMLINK_FOLLOW) == 0) return;
  if (errno == ENOENT && ::access("/proc/self/fd", F_OK) != 0 &&
      ::linkat(fd_, "", AT_FDCWD, name.c_str(), AT_EMPTY_PATH) == 0) {
    return;
  }
  throw std::system_error(errno, std::generic_category(), "cannot name the file " + name.string());
}

void atomic_file::publish_unnamed() {
  try {
    link_unnamed_to(target_);
    return;
  } catch (const std::system_error& e) {
    if (e.code().value() != EEXIST || options_.if_exists == existing::refuse) throw;
  }
  // Replace: linkat never replaces, so name it beside the target and rename that over it.
  for (int tries = 0;; ++tries) {
    const auto name = temporary_name(target_);
    try {
      link_unnamed_to(name);
    } catch (const std::system_error& e) {
      if (e.code().value() == EEXIST && tries < 100) continue;
      throw;
    }
    if (::rename(name.c_str(), target_.c_str()) != 0) {
      const int err = errno;
      ::unlink(name.c_str());
      fail(err, "cannot replace", target_);
    }
    return;
  }
}

void atomic_file::publish_named() {
  // Close first: a deferred write error (network file systems) surfaces here, before the name.
  if (::close(std::exchange(fd_, -1)) != 0) fail(errno, "cannot write", target_);
  if (options_.if_exists == existing::replace) {
    if (::rename(temporary_.c_str(), target_.c_str()) != 0) fail(errno, "cannot rename the file to", target_);
  } else if (::renameat2(AT_FDCWD, temporary_.c_str(), AT_FDCWD, target_.c_str(), RENAME_NOREPLACE) != 0) {
    if (errno != EINVAL && errno != ENOSYS) fail(errno, "cannot rename the file to", target_);
    // No RENAME_NOREPLACE on this file system: link() refuses an existing name just as well.
    if (::link(temporary_.c_str(), target_.c_str()) != 0) fail(errno, "cannot rename the file to", target_);
    ::unlink(temporary_.c_str());
  }
  temporary_.clear();
}

void atomic_file::commit() {
  if (fd_ < 0) fail(EBADF, "nothing to commit for", target_);
  try {
    if (options_.durable) fsync_or_fail(fd_, target_);
    if (unnamed()) {
      publish_unnamed();
      ::close(std::exchange(fd_, -1));  // local file systems report write errors in write()
    } else {
      publish_named();
    }
    if (options_.durable) fsync_directory(directory_of(target_));
  } catch (...) {
    abandon();
    throw;
  }
}

void atomic_file::abandon() noexcept {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  if (!temporary_.empty()) {
    ::unlink(temporary_.c_str());
    temporary_.clear();
  }
}

std::vector<atomic_file::stale_temporary> atomic_file::remove_stale_temporaries(
    const std::filesystem::path& directory) {
  // List first, remove after: a folder that cannot be read fails before anything is removed.
  std::vector<stale_temporary> candidates;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(directory, ec), end; !ec && it != end; it.increment(ec)) {
    const pid_t pid = temporary_writer(it->path().filename().native());
    if (pid > 0 && pid != ::getpid()) candidates.push_back({it->path(), static_cast<int>(pid)});
  }
  if (ec) fail(ec.value(), "cannot list the directory", directory);

  std::vector<stale_temporary> removed;
  for (auto& candidate : candidates) {
    if (::kill(candidate.writer_pid, 0) == 0 || errno != ESRCH) continue;  // alive, or not ours to judge
    struct stat info {};
    if (::lstat(candidate.path.c_str(), &info) != 0 || !S_ISREG(info.st_mode) || info.st_uid != ::geteuid()) continue;
    if (::unlink(candidate.path.c_str()) == 0) removed.push_back(std::move(candidate));
  }
  return removed;
}

}  // namespace trident
