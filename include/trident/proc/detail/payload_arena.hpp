#pragma once
/// @file
/// A process pool's shared memory for large task arguments: one memfd, mapped once by the pool
/// and once by each worker, that the caller encodes large arguments straight into. Internal.
///
/// Why: a fresh memfd per payload costs a memfd_create, a write (a copy plus the kernel zeroing
/// fresh tmpfs pages), a descriptor on the socket, and in the worker an mmap, a page fault per
/// page and an munmap (a TLB shootdown). The arena's pages are allocated and faulted in once and
/// stay mapped on both sides, so a later payload costs one copy in (the encoding) and one copy
/// out (the worker's decoding) and no system call.
///
/// Protocol (docs/proc.md, "Large arguments"):
///   1. The first large payload creates the memfd (sized `capacity`, pages allocated as they are
///      first written); a pool that never sends one never pays for it.
///   2. `allocate` hands out a `slot`: a range of the arena, first fit from the lowest address
///      (recently used, so likely still in cache). The caller encodes the payload into it.
///   3. Before a worker's first arena task, the pool's I/O thread sends the arena's descriptor
///      (a `channel` frame, id 3); the worker maps it read-only and keeps it.
///   4. The task's ring entry carries (offset, length) instead of the bytes (`flag_arena`); the
///      worker decodes the arguments from its own mapping.
///   5. The slot is freed when its job is destroyed: after its result came, or it failed or was
///      cancelled. A job whose worker crashed keeps its slot and is resent with it.
/// When the arena has no room, `allocate` waits (at most `patience`) for a job to finish, then
/// gives up and the payload takes the memfd route: never a deadlock, even if the tasks that hold
/// the arena wait for the caller. After a wait that timed out it does not wait again until a
/// slot is freed, so a stuck pool costs one `patience`, not one per payload. The pool's I/O
/// thread, which frees the slots, never waits (`never_wait_on`).
///
/// Nothing outlives the pool's processes: the memfd has no name, and it is freed when the pool
/// and its workers (which die with the pool) have closed and unmapped it.
///
/// Thread safety: `allocate` and `release` may be called from any thread at once (a mutex).
/// Cancellation: none; `allocate`'s wait is bounded by `patience`.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>

namespace trident::proc::detail {

class payload_arena;

/// A range of a payload arena that one job's payload is encoded into; freed when destroyed.
/// Move-only. An empty slot (the default) holds nothing.
class arena_slot {
 public:
  arena_slot() = default;
  arena_slot(std::shared_ptr<payload_arena> arena, char* data, std::uint64_t offset, std::uint64_t size) noexcept
      : arena_(std::move(arena)), data_(data), offset_(offset), size_(size) {}
  arena_slot(arena_slot&& other) noexcept;
  arena_slot& operator=(arena_slot&& other) noexcept;
  arena_slot(const arena_slot&) = delete;
  arena_slot& operator=(const arena_slot&) = delete;
  ~arena_slot() { reset(); }

  void reset() noexcept;
  [[nodiscard]] explicit operator bool() const noexcept { return arena_ != nullptr; }
  [[nodiscard]] char* data() const noexcept { return data_; }
  [[nodiscard]] std::uint64_t offset() const noexcept { return offset_; }
  [[nodiscard]] std::uint64_t size() const noexcept { return size_; }
  [[nodiscard]] payload_arena* arena() const noexcept { return arena_.get(); }

 private:
  std::shared_ptr<payload_arena> arena_;
  char* data_ = nullptr;
  std::uint64_t offset_ = 0;
  std::uint64_t size_ = 0;
};

/// The pool's side of the arena. Create with std::make_shared (slots keep it alive).
class payload_arena : public std::enable_shared_from_this<payload_arena> {
 public:
  static constexpr std::size_t default_capacity = std::size_t{32} << 20;
  /// Slots are whole pages: a payload never shares a page with another.
  static constexpr std::size_t granule = 4096;
  static constexpr std::chrono::milliseconds default_patience{20};

  explicit payload_arena(std::size_t capacity = default_capacity,
                         std::chrono::milliseconds patience = default_patience) noexcept;
  payload_arena(const payload_arena&) = delete;
  payload_arena& operator=(const payload_arena&) = delete;
  ~payload_arena();

  /// Room for `bytes`, waiting at most `patience` for it; an empty slot if there is none (also
  /// when `bytes` is over half the capacity, or the memfd cannot be made). Thread-safe.
  [[nodiscard]] arena_slot allocate(std::size_t bytes);
  /// The memfd (-1 before the first allocation). Stable once set; read by the pool's I/O thread
  /// only for jobs that hold a slot, which were allocated after it was set.
  [[nodiscard]] int fd() const noexcept { return fd_; }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  /// A thread that must never wait in `allocate`: the pool's I/O thread, which frees the slots
  /// (a continuation it runs may submit to its own pool). Set once, before any allocation.
  void never_wait_on(std::thread::id thread) {
    const std::lock_guard lock(mutex_);
    never_wait_on_ = thread;
  }

  struct statistics_t {
    std::size_t bytes_in_use = 0;  ///< Reserved by live slots (whole pages).
    std::size_t slots_in_use = 0;
    std::size_t allocations = 0;  ///< Slots handed out so far.
    std::size_t refusals = 0;     ///< Requests that found no room (their payloads went as memfds).
  };
  [[nodiscard]] statistics_t statistics() const;

 private:
  friend class arena_slot;
  void release(std::uint64_t offset, std::uint64_t size) noexcept;
  bool create_locked();                                              ///< Assumes the caller holds `mutex_`.
  std::optional<std::uint64_t> take_locked(std::uint64_t reserved);  ///< Assumes `mutex_` held.

  const std::size_t capacity_;
  const std::chrono::milliseconds patience_;
  std::thread::id never_wait_on_;
  mutable std::mutex mutex_;
  std::condition_variable freed_;
  int fd_ = -1;
  char* base_ = nullptr;
  bool failed_ = false;                          // the memfd could not be made: never try again
  bool stalled_ = false;                         // a wait timed out and nothing was freed since
  std::map<std::uint64_t, std::uint64_t> free_;  // offset -> length, coalesced
  statistics_t stats_;
};

/// The worker's read-only mapping of a pool's arena. Move-only; unmapped when destroyed.
class payload_arena_view {
 public:
  payload_arena_view() = default;
  /// Maps the arena memfd `fd` (the caller still closes it). Throws `protocol_error` if it
  /// cannot be mapped.
  static payload_arena_view attach(int fd);
  payload_arena_view(payload_arena_view&& other) noexcept;
  payload_arena_view& operator=(payload_arena_view&& other) noexcept;
  payload_arena_view(const payload_arena_view&) = delete;
  payload_arena_view& operator=(const payload_arena_view&) = delete;
  ~payload_arena_view();

  [[nodiscard]] bool mapped() const noexcept { return base_ != nullptr; }
  /// The bytes at [offset, offset + size). Throws `protocol_error` if they are not all inside.
  [[nodiscard]] std::string_view bytes(std::uint64_t offset, std::uint64_t size) const;

 private:
  const char* base_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace trident::proc::detail
