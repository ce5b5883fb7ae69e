#pragma once
/// @file
/// The byte-message ring behind `proc::queue<T>`: fixed-size slots in a memfd shared by every
/// process that holds the queue. Internal.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace trident::proc::detail {

struct ring_header;
class ring_watcher;

/// Which readiness a `ring_wake_hook` waits for.
enum class ring_readiness : unsigned char {
  readable,  ///< a message is there, or the ring is closed
  writable,  ///< a slot is free, or the ring is closed
};

/// A registration to hear, without blocking a thread, that a ring became readable or writable:
/// what a coroutine waiting on a `proc::queue` leaves with the ring. `fire` runs once, on the
/// ring's watcher thread, with the watcher's lock held: it must be short and must not call the
/// ring (post to an event loop and return). Owned by the registrant, which must keep it alive
/// until it fired or `unwatch` returned.
struct ring_wake_hook {
  void (*fire)(ring_wake_hook* self) noexcept = nullptr;
  ring_wake_hook* next = nullptr;  // the watcher's list; guarded by its lock
  ring_wake_hook* prev = nullptr;
  bool linked = false;
};

/// A bounded multi-producer multi-consumer queue of byte messages in shared memory.
///
/// The ring is guarded by a process-shared robust mutex (a process that dies holding it does not
/// wedge the others); waiting uses two futex sequence words without FUTEX_PRIVATE_FLAG, so a
/// `put` in one process wakes a `get` blocked in another. Nothing polls.
///
/// Thread safety: every member may be called from any thread of any process sharing the ring.
class shm_ring {
 public:
  /// A new ring of `capacity` slots of `max_message` bytes each.
  shm_ring(std::size_t capacity, std::size_t max_message);
  /// The ring in inherited memfd `fd` (from `descriptor()` in the parent); takes `fd` over.
  explicit shm_ring(int fd);
  shm_ring(const shm_ring&) = delete;
  shm_ring& operator=(const shm_ring&) = delete;
  ~shm_ring();

  /// Writes a message straight into a free slot: returns the bytes written to `dst` (at most
  /// `room`), or throws to leave the slot free.
  using writer_fn = std::size_t (*)(void* context, char* dst, std::size_t room);
  /// Reads the oldest message in place; the slot is released afterwards, even if it throws.
  using reader_fn = void (*)(void* context, std::string_view message);

  /// Copies `message` in; waits while full, up to `deadline` (nullptr: forever). Returns false
  /// on timeout; throws channel_closed_error if closed, std::length_error if too large.
  bool put(std::string_view message, const std::chrono::steady_clock::time_point* deadline);
  /// Like `put`, with `write` filling the slot (under the ring's lock: keep it short).
  bool put_with(writer_fn write, void* context, const std::chrono::steady_clock::time_point* deadline);
  /// Takes the oldest message into `out`; waits while empty, up to `deadline`. Returns false on
  /// timeout or when the ring is closed and empty (`closed()` tells which).
  bool get(std::string& out, const std::chrono::steady_clock::time_point* deadline);
  /// Like `get`, handing the message to `read` in place (under the ring's lock).
  bool get_with(reader_fn read, void* context, const std::chrono::steady_clock::time_point* deadline);
  /// Waits until a message is there or the ring is closed, up to `deadline`, without taking it.
  bool wait_readable(const std::chrono::steady_clock::time_point* deadline);
  void close();
  [[nodiscard]] bool closed() const noexcept;
  [[nodiscard]] std::size_t size() const;
  [[nodiscard]] std::size_t capacity() const noexcept;
  [[nodiscard]] std::size_t max_message() const noexcept;
  [[nodiscard]] int descriptor() const noexcept { return fd_; }

  /// Registers `hook` to fire once the ring is `readiness` (checked by the watcher thread, so
  /// it may fire at once). The first registration in a direction starts that direction's
  /// watcher thread. Throws std::system_error if the thread cannot start.
  void watch(ring_readiness readiness, ring_wake_hook& hook);
  /// Withdraws `hook`: true if it was still registered (it will not fire), false if it fired
  /// (its `fire` has returned). Safe to call from inside no `fire`.
  bool unwatch(ring_readiness readiness, ring_wake_hook& hook) noexcept;
  /// Coroutines (hooks) of this process registered right now, in both directions.
  [[nodiscard]] std::size_t watched() const noexcept;
  /// Times this process's watcher threads were woken from the futex: one per wake-up, never a
  /// timed poll. For tests and statistics.
  [[nodiscard]] std::uint64_t watcher_wakeups() const noexcept;
  /// Watchers of every process sleeping on this ring right now, in both directions.
  [[nodiscard]] std::size_t sleeping_watchers() const noexcept;

 private:
  void map(std::size_t bytes);
  ring_watcher& watcher(ring_readiness readiness);
  int fd_ = -1;
  std::size_t bytes_ = 0;
  ring_header* h_ = nullptr;
  mutable std::mutex watchers_mutex_;  // guards creating the watchers
  std::unique_ptr<ring_watcher> watchers_[2];
};

}  // namespace trident::proc::detail
