// proc::shared_bytes: a memfd mapped shared, and the descriptors that carry it to pool workers
// (detail/attachments.hpp).

#include "trident/proc/shared_bytes.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "trident/proc/detail/attachments.hpp"
#include "trident/proc/detail/memory_file.hpp"

namespace trident::proc {

/// The memory file and its mapping in this process.
struct shared_bytes::block {
  int fd = -1;
  void* addr = nullptr;
  std::size_t size = 0;

  block(int f, std::size_t n, bool populate) : fd(f), size(n) {
    const int flags = MAP_SHARED | (populate ? MAP_POPULATE : 0);
    addr = ::mmap(nullptr, n, PROT_READ | PROT_WRITE, flags, fd, 0);
    if (addr == MAP_FAILED) {
      const int e = errno;
      ::close(fd);
      throw std::system_error(e, std::generic_category(), "mmap of shared_bytes");
    }
  }
  block(const block&) = delete;
  block& operator=(const block&) = delete;
  ~block() {
    ::munmap(addr, size);
    ::close(fd);
  }
};

shared_bytes::shared_bytes(std::size_t size) {
  if (size == 0) return;
  const int fd = detail::make_sealed_memory_file("trident-shared-bytes", size);
  block_ = std::make_shared<block>(fd, size, false);
}

shared_bytes shared_bytes::copy_of(std::span<const std::byte> bytes) {
  shared_bytes out(bytes.size());
  if (!bytes.empty()) std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

shared_bytes shared_bytes::copy_of(std::string_view bytes) { return copy_of(std::as_bytes(std::span(bytes))); }

std::byte* shared_bytes::data() noexcept { return block_ ? static_cast<std::byte*>(block_->addr) : nullptr; }
const std::byte* shared_bytes::data() const noexcept {
  return block_ ? static_cast<const std::byte*>(block_->addr) : nullptr;
}
std::size_t shared_bytes::size() const noexcept { return block_ ? block_->size : 0; }
int shared_bytes::descriptor() const noexcept { return block_ ? block_->fd : -1; }

namespace detail {

namespace {
thread_local attachment_sink* current_sink = nullptr;
thread_local const attachment_source* current_source = nullptr;
}  // namespace

attachment_sink::~attachment_sink() {
  for (int fd : fds_) ::close(fd);
}

std::optional<std::uint32_t> attachment_sink::add(int fd) {
  if (count_only_) {
    if (counted_ >= max_shared_per_message) return std::nullopt;
    return static_cast<std::uint32_t>(counted_++);
  }
  if (fds_.size() >= max_shared_per_message) return std::nullopt;
  const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) throw std::system_error(errno, std::generic_category(), "dup of a shared_bytes descriptor");
  fds_.push_back(copy);
  return static_cast<std::uint32_t>(fds_.size() - 1);
}

std::vector<int> attachment_sink::take() noexcept { return std::exchange(fds_, {}); }

attachment_sink::scope::scope(attachment_sink& sink) noexcept : outer_(current_sink) { current_sink = &sink; }
attachment_sink::scope::~scope() { current_sink = outer_; }

attachment_source::scope::scope(const attachment_source& source) noexcept : outer_(current_source) {
  current_source = &source;
}
attachment_source::scope::~scope() { current_source = outer_; }

attachment_sink* current_attachment_sink() noexcept { return current_sink; }
const attachment_source* current_attachment_source() noexcept { return current_source; }

std::optional<std::uint32_t> attach_descriptor(int fd) {
  if (current_sink == nullptr || fd < 0) return std::nullopt;
  return current_sink->add(fd);
}

shared_bytes map_attached_bytes(std::uint32_t index, std::uint64_t size) {
  const attachment_source* source = current_source;
  if (source == nullptr || index >= source->descriptors().size()) {
    throw protocol_error("shared_bytes: the message names descriptor " + std::to_string(index) +
                         ", which did not come with it");
  }
  const int fd = source->descriptors()[index];
  if (size == 0 || sealed_memory_file_size(fd, "shared_bytes") < size) {
    throw protocol_error("shared_bytes: its memory file is shorter than the message says");
  }
  const int own = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (own < 0) throw std::system_error(errno, std::generic_category(), "dup of a shared_bytes descriptor");
  // Mapped without MAP_POPULATE: a task often touches a slice of a large block (its share of a
  // shared array), and populating would map every page of it, for every task.
  return shared_bytes(std::make_shared<shared_bytes::block>(own, static_cast<std::size_t>(size), false));
}

}  // namespace detail

}  // namespace trident::proc
