// A process pool's shared memory for large task arguments (detail/payload_arena.hpp).

#include "trident/proc/detail/payload_arena.hpp"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iterator>
#include <string>
#include <utility>

#include "trident/proc/detail/memory_file.hpp"
#include "trident/proc/errors.hpp"

namespace trident::proc::detail {

// ---- slots ----

arena_slot::arena_slot(arena_slot&& other) noexcept
    : arena_(std::move(other.arena_)), data_(other.data_), offset_(other.offset_), size_(other.size_) {
  other.data_ = nullptr;
  other.offset_ = other.size_ = 0;
}

arena_slot& arena_slot::operator=(arena_slot&& other) noexcept {
  if (this != &other) {
    reset();
    arena_ = std::move(other.arena_);
    data_ = std::exchange(other.data_, nullptr);
    offset_ = std::exchange(other.offset_, 0);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void arena_slot::reset() noexcept {
  if (arena_ == nullptr) return;
  arena_->release(offset_, size_);
  arena_.reset();
  data_ = nullptr;
  offset_ = size_ = 0;
}

// ---- the arena ----

namespace {
constexpr std::uint64_t round_up(std::uint64_t n, std::uint64_t to) noexcept { return (n + to - 1) / to * to; }
}  // namespace

payload_arena::payload_arena(std::size_t capacity, std::chrono::milliseconds patience) noexcept
    : capacity_(round_up(capacity, granule)), patience_(patience) {}

payload_arena::~payload_arena() {
  if (base_ != nullptr) ::munmap(base_, capacity_);
  if (fd_ >= 0) ::close(fd_);
}

bool payload_arena::create_locked() {
  if (base_ != nullptr) return true;
  if (failed_ || capacity_ == 0) return false;
  failed_ = true;  // until it works
  int fd = -1;
  try {
    fd = make_sealed_memory_file("trident-payloads", capacity_);
  } catch (const std::system_error&) {
    return false;  // the payloads take the memfd route
  }
  void* p = ::mmap(nullptr, capacity_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    ::close(fd);
    return false;
  }
  fd_ = fd;
  base_ = static_cast<char*>(p);
  free_.emplace(0, capacity_);
  failed_ = false;
  return true;
}

std::optional<std::uint64_t> payload_arena::take_locked(std::uint64_t reserved) {
  for (auto it = free_.begin(); it != free_.end(); ++it) {
    if (it->second < reserved) continue;
    const std::uint64_t offset = it->first;
    const std::uint64_t left = it->second - reserved;
    free_.erase(it);
    if (left != 0) free_.emplace(offset + reserved, left);
    return offset;
  }
  return std::nullopt;
}

arena_slot payload_arena::allocate(std::size_t bytes) {
  if (bytes == 0 || bytes > capacity_ / 2) return {};
  const std::uint64_t reserved = round_up(bytes, granule);
  std::unique_lock lock(mutex_);
  if (!create_locked()) return {};
  auto offset = take_locked(reserved);
  if (!offset && !stalled_ && patience_.count() > 0 && std::this_thread::get_id() != never_wait_on_) {
    const auto deadline = std::chrono::steady_clock::now() + patience_;
    while (!offset) {
      if (freed_.wait_until(lock, deadline) == std::cv_status::timeout) {
        offset = take_locked(reserved);
        if (!offset) stalled_ = true;
        break;
      }
      offset = take_locked(reserved);
    }
  }
  if (!offset) {
    ++stats_.refusals;
    return {};
  }
  ++stats_.allocations;
  ++stats_.slots_in_use;
  stats_.bytes_in_use += reserved;
  return {shared_from_this(), base_ + *offset, *offset, bytes};
}

void payload_arena::release(std::uint64_t offset, std::uint64_t size) noexcept {
  const std::uint64_t reserved = round_up(size, granule);
  {
    std::lock_guard lock(mutex_);
    auto next = free_.lower_bound(offset);
    std::uint64_t start = offset;
    std::uint64_t length = reserved;
    if (next != free_.begin()) {
      auto prev = std::prev(next);
      if (prev->first + prev->second == offset) {
        start = prev->first;
        length += prev->second;
        free_.erase(prev);
      }
    }
    if (next != free_.end() && offset + reserved == next->first) {
      length += next->second;
      free_.erase(next);
    }
    free_.emplace(start, length);
    --stats_.slots_in_use;
    stats_.bytes_in_use -= reserved;
    stalled_ = false;
  }
  freed_.notify_all();
}

payload_arena::statistics_t payload_arena::statistics() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

// ---- the worker's view ----

payload_arena_view payload_arena_view::attach(int fd) {
  const std::uint64_t file_size = sealed_memory_file_size(fd, "worker channel: the payload arena");
  if (file_size == 0 || file_size > std::numeric_limits<std::size_t>::max()) {
    throw protocol_error("worker channel: the payload arena has no size");
  }
  const auto size = static_cast<std::size_t>(file_size);
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    throw protocol_error("worker channel: cannot map the payload arena: " + std::string(std::strerror(errno)));
  }
  payload_arena_view v;
  v.base_ = static_cast<const char*>(p);
  v.size_ = size;
  return v;
}

payload_arena_view::payload_arena_view(payload_arena_view&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)), size_(std::exchange(other.size_, 0)) {}

payload_arena_view& payload_arena_view::operator=(payload_arena_view&& other) noexcept {
  if (this != &other) {
    if (base_ != nullptr) ::munmap(const_cast<char*>(base_), size_);
    base_ = std::exchange(other.base_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

payload_arena_view::~payload_arena_view() {
  if (base_ != nullptr) ::munmap(const_cast<char*>(base_), size_);
}

std::string_view payload_arena_view::bytes(std::uint64_t offset, std::uint64_t size) const {
  if (base_ == nullptr) throw protocol_error("worker channel: an arena task before the arena");
  if (offset > size_ || size > size_ - offset) throw protocol_error("worker channel: arena task out of range");
  return {base_ + offset, static_cast<std::size_t>(size)};
}

}  // namespace trident::proc::detail
