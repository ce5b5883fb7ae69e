#pragma once
/// @file
/// `trident::sync::event`: a flag that threads can wait for (Python's `threading.Event`).

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <iosfwd>
#include <mutex>

#include "trident/sync/detail/deadline.hpp"

namespace trident::sync {

/// A boolean flag that threads wait to become set, like Python's `threading.Event`.
///
/// `set()` wakes every waiting thread and lets later `wait()` calls return at once until
/// `clear()`. A waiter that was woken by `set()` returns even if `clear()` follows immediately.
///
/// **Thread safety.** Every member may be called concurrently from any thread. The event may be
/// destroyed as soon as no thread is inside a member function (a waiter returning from `wait()`
/// may destroy it while the setter is still returning from `set()`).
///
/// **Timeouts.** `wait_for`/`wait_until` return `false` on timeout; they never hang past the
/// deadline and never throw. A timed-out wait has no effect on the event.
///
/// **Printing.** `os << e` prints `event [set]` or `event [unset, waiters:2]`.
///
/// @code
/// trident::sync::event ready;
/// std::jthread worker{[&] { prepare(); ready.set(); }};
/// if (!ready.wait_for(std::chrono::seconds(1))) throw trident::timeout_error();
/// @endcode
class event {
 public:
  event() = default;
  event(const event&) = delete;
  event& operator=(const event&) = delete;

  /// Sets the flag and wakes every waiting thread.
  void set();
  /// Resets the flag; later waits block until the next `set()`.
  void clear();
  /// The flag right now.
  [[nodiscard]] bool is_set() const;
  /// Blocks until the flag is set.
  void wait();

  /// Blocks until the flag is set or `timeout` passes; returns the flag.
  template <class Rep, class Period>
  bool wait_for(const std::chrono::duration<Rep, Period>& timeout) {
    return wait_until(sync::detail::deadline_after(timeout));
  }

  /// Blocks until the flag is set or `deadline` passes; returns the flag.
  template <class Clock, class Duration>
  bool wait_until(const std::chrono::time_point<Clock, Duration>& deadline) {
    std::unique_lock lock{mutex_};
    if (set_) return true;
    ++waiters_;
    const unsigned long long generation = generation_;
    // `generation_` changes on every set(): a waiter woken by set() returns true even when a
    // clear() ran before it reacquired the lock.
    const bool woken = changed_.wait_until(lock, deadline, [&] { return generation_ != generation; });
    --waiters_;
    return woken;
  }

  /// Prints `event [set]` or `event [unset, waiters:N]`.
  friend std::ostream& operator<<(std::ostream& os, const event& e);

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool set_ = false;
  unsigned long long generation_ = 0;  // counts set() calls that changed the flag to set
  std::size_t waiters_ = 0;
};

}  // namespace trident::sync

// This header's names under their 0.1 spelling, directly in `trident::`: deprecated until 0.3.
#define TRIDENT_SYNC_EVENT_HPP
#include "trident/sync/deprecated_names.hpp"
