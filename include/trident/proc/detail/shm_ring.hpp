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

/// The ring as one process uses it: the shared header, and the geometry this process gave the
/// ring when it made it or checked when it attached. Every slot's address and every length bound
/// comes from this process-local copy, so another process that overwrites the header (or any
/// byte of the mapping) can garble the messages or make the ring look corrupt, but cannot make
/// this process read or write outside its mapping.
struct ring_ref {
  ring_header* shared = nullptr;
  std::uint64_t capacity = 0;
  std::uint64_t slot_bytes = 0;
  std::uint64_t max_message = 0;

  /// The shared words (hints, futex words, `closed`); the geometry is read from `*this` instead.
  ring_header* operator->() const noexcept { return shared; }
};

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

/// Where a test makes a process kill itself (SIGKILL) inside the ring, to prove that the ring
/// survives it: see `inject_ring_fault`.
enum class ring_fault_point : unsigned char {
  none,
  producer_after_claim,     ///< a slot is claimed, nothing written yet
  producer_mid_write,       ///< half of the message's bytes are in the slot (`put` only)
  producer_before_publish,  ///< the whole message is in the slot, not yet published
  consumer_after_claim,     ///< a message is claimed, not yet read
  consumer_mid_read,        ///< the message is being read (`get` only: half copied out)
};

/// Test hook: from now on this process SIGKILLs itself the `nth` time (1: the next time) any
/// thread of it passes `point` in any ring; `ring_fault_point::none` disarms. Meant for a child
/// process right after fork, before it uses a ring. Costs one relaxed load per put/get when
/// disarmed. Thread safety: may be called from any thread; passages are counted atomically.
void inject_ring_fault(ring_fault_point point, std::uint64_t nth) noexcept;

/// A bounded multi-producer multi-consumer queue of byte messages in shared memory.
///
/// Lock-free: a slot is claimed with one compare-and-swap on its sequence word (Vyukov's
/// bounded MPMC ring, with the claimer's pid in the claim), and nothing is locked while a
/// message is written or read. A process killed while it holds a claim wedges nobody: whoever
/// waits behind the slot finds the claimer dead (its pid gone, a zombie, or a different process
/// under that pid) after `stall_check_interval` and reclaims the slot. What is lost then: the
/// message the dead producer was publishing (never delivered, nor any of its bytes), or the
/// message the dead consumer was reading (delivered to nobody). Nothing else is lost or
/// delivered twice, and the slot is usable again. Only calls that wait check claimers; the
/// processes sharing a ring must share a pid namespace (children by fork or spawn do).
///
/// Waiting uses two futex sequence words without FUTEX_PRIVATE_FLAG, so a `put` in one process
/// wakes a `get` blocked in another. A waiter first spins for at most `spin_budget`, then
/// registers and sleeps; a put or get makes a system call only when someone sleeps. Nothing
/// polls, except a waiter stuck behind a claimed slot, which looks every
/// `stall_check_interval` whether the claimer still lives.
///
/// Thread safety: every member may be called from any thread of any process sharing the ring.
class shm_ring {
 public:
  /// A new ring of `capacity` (1 to 2^28) slots of `max_message` (1 byte to 1 GiB) bytes each;
  /// throws std::invalid_argument outside those bounds.
  shm_ring(std::size_t capacity, std::size_t max_message);
  /// The ring in inherited memfd `fd` (from `descriptor()` in the parent); takes `fd` over.
  explicit shm_ring(int fd);
  shm_ring(const shm_ring&) = delete;
  shm_ring& operator=(const shm_ring&) = delete;
  ~shm_ring();

  /// How long a waiter spins (with `pause`; not at all with one CPU online) before it
  /// registers and sleeps: a producer running in another process is well under a microsecond
  /// from its next put, and one that is not running will not come sooner for a longer spin.
  static constexpr std::chrono::microseconds spin_budget{2};
  /// How long a waiter behind a claimed slot spins before it sleeps: the claimer is running
  /// and a few microseconds from publishing (or releasing) it.
  static constexpr std::chrono::microseconds claim_spin_budget{10};
  /// How often a waiter stuck behind a claimed, unfinished slot checks that its claimer lives.
  static constexpr std::chrono::milliseconds stall_check_interval{2};

  /// Writes a message straight into a claimed slot, outside any lock: returns the bytes
  /// written to `dst` (at most `room`), or throws; the slot is then skipped by consumers (as
  /// one whose producer died), and the exception propagates.
  using writer_fn = std::size_t (*)(void* context, char* dst, std::size_t room);
  /// Reads the oldest message in place, outside any lock; the slot is released afterwards, even
  /// if it throws.
  using reader_fn = void (*)(void* context, std::string_view message);

  /// Copies `message` in; waits while full, up to `deadline` (nullptr: forever). Returns false
  /// on timeout; throws channel_closed_error if closed, std::length_error if too large.
  bool put(std::string_view message, const std::chrono::steady_clock::time_point* deadline);
  /// Like `put`, with `write` filling the claimed slot in place. Consumers behind this slot wait
  /// until `write` returns: keep it short.
  bool put_with(writer_fn write, void* context, const std::chrono::steady_clock::time_point* deadline);
  /// Takes the oldest message into `out`; waits while empty, up to `deadline`. Returns false on
  /// timeout or when the ring is closed and empty (`closed()` tells which). A put that claimed
  /// its slot before `close` is still delivered; one that finds the ring closed after claiming
  /// throws channel_closed_error and delivers nothing.
  bool get(std::string& out, const std::chrono::steady_clock::time_point* deadline);
  /// Like `get`, handing the message to `read` in place; the slot is reusable once it returns.
  bool get_with(reader_fn read, void* context, const std::chrono::steady_clock::time_point* deadline);
  /// Waits until a message is there or the ring is closed, up to `deadline`, without taking it.
  bool wait_readable(const std::chrono::steady_clock::time_point* deadline);
  void close();
  [[nodiscard]] bool closed() const noexcept;
  /// Messages in the ring (claimed slots included); exact when no put or get is under way.
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
  ring_ref h_;
  mutable std::mutex watchers_mutex_;  // guards creating the watchers
  std::unique_ptr<ring_watcher> watchers_[2];
};

}  // namespace trident::proc::detail
