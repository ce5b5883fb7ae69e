#pragma once
// ring_watcher: one direction's watcher thread of one proc::queue ring handle, which wakes the
// coroutines waiting on the ring (ring_watcher.cpp says how). Private to src/proc/queue/: the
// ring (shm_ring.cpp) owns one per direction, started on first use.

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>

#include "trident/proc/detail/shm_ring.hpp"

namespace trident::proc::detail {

/// One direction's watcher thread of one ring handle: fires the hooks left by coroutines once
/// the ring is ready for them (steps 1 to 4 in ring_watcher.cpp).
///
/// Thread safety: `add`, `remove`, `count` and `wakeups` may be called from any thread. The
/// destructor stops and joins the thread; the ring's mapping must outlive it.
class ring_watcher {
 public:
  /// Starts the thread; throws std::system_error if it cannot start.
  ring_watcher(const ring_ref& h, ring_readiness readiness);
  ring_watcher(const ring_watcher&) = delete;
  ring_watcher& operator=(const ring_watcher&) = delete;
  ~ring_watcher();

  /// Registers `hook`; it fires once, on the watcher thread, when the ring is ready.
  void add(ring_wake_hook& hook);
  /// Withdraws `hook`: true if it was still registered, false if it fired (`fire` returned).
  bool remove(ring_wake_hook& hook) noexcept;

  [[nodiscard]] std::size_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t wakeups() const noexcept { return wakeups_.load(std::memory_order_relaxed); }

 private:
  void poke() noexcept;
  void unlink(ring_wake_hook& hook) noexcept;
  void run() noexcept;

  ring_ref h_;  // a copy: the geometry the ring checked
  ring_readiness readiness_;
  std::mutex mutex_;
  std::condition_variable hooks_changed_;
  ring_wake_hook* head_ = nullptr;           // guarded by mutex_
  std::atomic<bool> stop_requested_{false};  // set under mutex_, before a poke
  std::atomic<std::size_t> count_{0};
  std::atomic<std::uint64_t> wakeups_{0};
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace trident::proc::detail
