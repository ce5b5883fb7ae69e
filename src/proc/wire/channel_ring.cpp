// A pool worker's shared-memory channel: the two rings and their wake-ups (channel_ring.hpp).

#include "trident/proc/detail/channel_ring.hpp"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <system_error>

#include "trident/proc/detail/memory_file.hpp"
#include "trident/proc/errors.hpp"

namespace trident::proc::detail {

std::atomic<bool> hold_results_for_testing{false};

namespace {

struct header {
  std::uint32_t magic;
  std::uint8_t kind;
  std::uint8_t flags;
  std::uint16_t zero;
  std::uint64_t id;
  std::uint64_t size;
};
static_assert(sizeof(header) == frame_header_size);

constexpr std::uint8_t pad_kind = 0;  // the rest of the ring up to its end is unused

constexpr std::uint64_t align8(std::uint64_t n) noexcept { return (n + 7) & ~std::uint64_t{7}; }

constexpr std::uint64_t entry_size(std::size_t payload, bool on_socket) noexcept {
  return align8(frame_header_size + (on_socket ? 0 : payload));
}

[[noreturn]] void corrupt(const char* what) {
  throw protocol_error(std::string("worker channel: shared-memory ring corrupt: ") + what);
}

}  // namespace

std::uint64_t steady_ns() noexcept {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

std::uint64_t spin_budget_ns(std::size_t workers) noexcept {
  // A machine's own choice (docs/proc.md), bounded: spinning is only a short wait.
  if (const char* v = std::getenv("TRIDENT_POOL_SPIN_NS"); v != nullptr && *v != '\0') {
    return std::min<std::uint64_t>(std::strtoull(v, nullptr, 10), max_spin_ns);
  }
  const long cores = ::sysconf(_SC_NPROCESSORS_ONLN);
  return cores > 0 && static_cast<std::size_t>(cores) >= workers + 2 ? spin_ns : 0;
}

// ---- writer ----

ring_writer::ring_writer(char* data, std::atomic<std::uint64_t>* head, std::atomic<std::uint64_t>* tail) noexcept
    : data_(data), head_(head), tail_(tail) {
  local_tail_ = published_ = tail->load(std::memory_order_relaxed);
  head_cache_ = head->load(std::memory_order_acquire);
}

bool ring_writer::try_add_arena(frame_kind kind, std::uint64_t id, std::uint64_t offset, std::uint64_t length,
                                std::size_t reserve) noexcept {
  char reference[arena_reference_size];
  std::memcpy(reference, &offset, 8);
  std::memcpy(reference + 8, &length, 8);
  return add(kind, flag_arena, id, std::string_view(reference, sizeof reference), reserve);
}

bool ring_writer::try_add(frame_kind kind, std::uint64_t id, std::string_view payload, bool on_socket,
                          std::size_t reserve) noexcept {
  return add(kind, on_socket ? flag_shm : 0, id, payload, reserve);
}

bool ring_writer::add(frame_kind kind, std::uint8_t flags, std::uint64_t id, std::string_view payload,
                      std::size_t reserve) noexcept {
  const bool on_socket = (flags & flag_shm) != 0;
  const std::uint64_t size = entry_size(payload.size(), on_socket);
  const std::uint64_t offset = local_tail_ % ring_capacity;
  const std::uint64_t to_end = ring_capacity - offset;
  const std::uint64_t skip = size <= to_end ? 0 : to_end;  // an entry never wraps
  const std::uint64_t need = skip + size + reserve;
  if (ring_capacity - (local_tail_ - head_cache_) < need) {
    head_cache_ = head_->load(std::memory_order_acquire);
    if (ring_capacity - (local_tail_ - head_cache_) < need) return false;
  }
  if (skip != 0) {
    if (skip >= frame_header_size) {
      const header pad{frame_magic, pad_kind, 0, 0, 0, 0};
      std::memcpy(data_ + offset, &pad, sizeof pad);
    }
    local_tail_ += skip;
  }
  char* at = data_ + local_tail_ % ring_capacity;
  const header h{frame_magic, static_cast<std::uint8_t>(kind), flags, 0, id, payload.size()};
  std::memcpy(at, &h, sizeof h);
  if (!on_socket && !payload.empty()) std::memcpy(at + sizeof h, payload.data(), payload.size());
  local_tail_ += size;
  return true;
}

bool ring_writer::publish() noexcept {
  if (local_tail_ == published_) return false;
  published_ = local_tail_;
  tail_->store(published_, std::memory_order_release);
  return true;
}

bool ring_writer::drained() const noexcept { return head_->load(std::memory_order_acquire) == published_; }

void ring_writer::add_raw_for_testing(std::string_view bytes) noexcept {
  const std::uint64_t size = align8(bytes.size());
  if (ring_capacity - local_tail_ % ring_capacity < size) return;
  std::memcpy(data_ + local_tail_ % ring_capacity, bytes.data(), bytes.size());
  local_tail_ += size;
  publish();
}

// ---- reader ----

ring_reader::ring_reader(const char* data, std::atomic<std::uint64_t>* head, std::atomic<std::uint64_t>* tail) noexcept
    : data_(data), head_(head), tail_(tail) {
  local_head_ = head->load(std::memory_order_relaxed);
  tail_cache_ = local_head_;
}

bool ring_reader::empty() const noexcept { return tail_->load(std::memory_order_acquire) == local_head_; }

std::optional<frame> ring_reader::next() {
  for (;;) {
    if (tail_cache_ == local_head_) {
      tail_cache_ = tail_->load(std::memory_order_acquire);
      if (tail_cache_ == local_head_) return std::nullopt;
    }
    const std::uint64_t available = tail_cache_ - local_head_;
    if (available > ring_capacity || available % 8 != 0) corrupt("published tail out of range");
    const std::uint64_t offset = local_head_ % ring_capacity;
    const std::uint64_t to_end = ring_capacity - offset;
    if (to_end < frame_header_size) {  // too little room left for a header: the writer wrapped
      if (available < to_end) corrupt("entry runs past the published tail");
      local_head_ += to_end;
      continue;
    }
    if (available < frame_header_size) corrupt("entry runs past the published tail");
    header h;
    std::memcpy(&h, data_ + offset, sizeof h);  // a copy: the checks below hold for what is used
    if (h.magic != frame_magic) corrupt("bad frame magic");
    if (h.kind == pad_kind) {
      if (h.flags != 0 || h.zero != 0 || h.id != 0 || h.size != 0) corrupt("bad pad entry");
      if (available < to_end) corrupt("pad entry runs past the published tail");
      local_head_ += to_end;
      continue;
    }
    if (h.kind < static_cast<std::uint8_t>(frame_kind::hello) ||
        h.kind > static_cast<std::uint8_t>(frame_kind::channel)) {
      corrupt("unknown frame kind");
    }
    if ((h.flags & ~(flag_shm | flag_arena)) != 0 || h.flags == (flag_shm | flag_arena) || h.zero != 0) {
      corrupt("reserved header bits set");
    }
    const bool on_socket = (h.flags & flag_shm) != 0;
    const bool in_arena = (h.flags & flag_arena) != 0;
    if (in_arena && h.size != arena_reference_size) corrupt("arena reference of the wrong size");
    if (on_socket ? h.size > max_shm_payload : h.size > max_inline_payload) corrupt("frame length out of range");
    const std::uint64_t size = entry_size(on_socket ? 0 : static_cast<std::size_t>(h.size), on_socket);
    if (size > to_end) corrupt("entry runs past the end of the ring");
    if (size > available) corrupt("entry runs past the published tail");
    frame f;
    f.kind = static_cast<frame_kind>(h.kind);
    f.id = h.id;
    f.on_socket = on_socket;
    f.in_arena = in_arena;
    if (!on_socket) f.payload = std::string_view(data_ + offset + frame_header_size, static_cast<std::size_t>(h.size));
    local_head_ += size;
    return f;
  }
}

void ring_reader::release() noexcept {
  if (head_->load(std::memory_order_relaxed) != local_head_) head_->store(local_head_, std::memory_order_release);
}

// ---- the mapping ----

channel_memory channel_memory::create(int& fd_out) {
  const int fd = make_sealed_memory_file("trident-channel", channel_size);
  channel_memory m;
  try {
    m = attach(fd);
  } catch (...) {
    ::close(fd);
    throw;
  }
  new (m.base_) channel_control{};
  fd_out = fd;
  return m;
}

channel_memory channel_memory::attach(int fd) {
  if (sealed_memory_file_size(fd, "worker channel: the shared-memory channel") != channel_size) {
    throw protocol_error("worker channel: the shared-memory channel has the wrong size");
  }
  void* p = ::mmap(nullptr, channel_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    throw protocol_error("worker channel: cannot map the shared-memory channel: " + std::string(std::strerror(errno)));
  }
  channel_memory m;
  m.base_ = static_cast<char*>(p);
  return m;
}

channel_memory::channel_memory(channel_memory&& other) noexcept : base_(other.base_) { other.base_ = nullptr; }

channel_memory& channel_memory::operator=(channel_memory&& other) noexcept {
  if (this != &other) {
    if (base_ != nullptr) ::munmap(base_, channel_size);
    base_ = other.base_;
    other.base_ = nullptr;
  }
  return *this;
}

channel_memory::~channel_memory() {
  if (base_ != nullptr) ::munmap(base_, channel_size);
}

ring_writer channel_memory::task_writer() const noexcept {
  return {base_ + channel_control_size, &control().task_head, &control().task_tail};
}
ring_reader channel_memory::task_reader() const noexcept {
  return {base_ + channel_control_size, &control().task_head, &control().task_tail};
}
ring_writer channel_memory::result_writer() const noexcept {
  return {base_ + channel_control_size + ring_capacity, &control().result_head, &control().result_tail};
}
ring_reader channel_memory::result_reader() const noexcept {
  return {base_ + channel_control_size + ring_capacity, &control().result_head, &control().result_tail};
}

void wake_if_sleeping(std::atomic<std::uint32_t>& sleeping, int event_fd) noexcept {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (sleeping.load(std::memory_order_relaxed) == 0) return;
  if (sleeping.exchange(0, std::memory_order_acq_rel) == 0) return;
  const std::uint64_t one = 1;
  ssize_t r;
  do {
    r = ::write(event_fd, &one, sizeof one);
  } while (r < 0 && errno == EINTR);
}

}  // namespace trident::proc::detail
