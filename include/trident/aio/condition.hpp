#pragma once
/// @file
/// `aio::condition`: wait for a notification while giving up a lock (Python's
/// `asyncio.Condition`).

#include <coroutine>
#include <cstddef>
#include <exception>
#include <stdexcept>
#include <string>

#include "trident/aio/detail/wait_list.hpp"
#include "trident/aio/event_loop.hpp"
#include "trident/aio/lock.hpp"
#include "trident/aio/task.hpp"
#include "trident/core/errors.hpp"

namespace trident::aio {

/// A condition variable for coroutines, tied to an `aio::lock` (its own, or one passed in, for
/// several conditions over one lock).
///
/// `wait()` must be called holding the lock: it releases the lock, waits for `notify`, and takes
/// the lock again before returning. `notify`/`notify_all` must also be called holding it (as in
/// asyncio; otherwise std::logic_error). Waiters are notified in arrival order. There are no
/// spurious wake-ups, but another task may change the state between the notification and the
/// re-acquisition, so check the predicate in a loop — `wait_for(pred)` does that.
///
/// @par Thread safety
/// Loop thread only. The condition (and its lock) must outlive its waiters.
///
/// @par Cancellation
/// `wait()` and `wait_for()` are cancellation points. When cancelled, the waiter still
/// re-acquires the lock before `cancelled_error` propagates (as asyncio does), so the caller's
/// `lock_guard` remains valid and releases it. A notification delivered to a waiter that is then
/// cancelled before it runs is passed on to the next waiter, so `notify(1)` is never lost.
///
/// @code
///   aio::condition cv;
///   std::deque<int> items;
///   aio::task<int> take() {
///     auto guard = co_await cv.scoped();
///     co_await cv.wait_for([&] { return !items.empty(); });
///     int v = items.front(); items.pop_front();
///     co_return v;
///   }
///   aio::task<void> give(int v) {
///     auto guard = co_await cv.scoped();
///     items.push_back(v);
///     cv.notify();
///   }
/// @endcode
class condition {
 public:
  /// A condition with its own lock.
  condition() noexcept : lock_(&own_) {}
  /// A condition over `l`, which must outlive it.
  explicit condition(lock& l) noexcept : lock_(&l) {}
  condition(const condition&) = delete;
  condition& operator=(const condition&) = delete;

  [[nodiscard]] lock& get_lock() noexcept { return *lock_; }
  /// The lock's operations, for `auto g = co_await cv.scoped();`.
  [[nodiscard]] semaphore::acquire_awaiter acquire() noexcept { return lock_->acquire(); }
  [[nodiscard]] lock::scoped_awaiter scoped() noexcept { return lock_->scoped(); }
  void release() { lock_->release(); }
  [[nodiscard]] bool locked() const noexcept { return lock_->locked(); }

  /// Releases the lock, waits for a notification, re-acquires the lock. Assumes the caller holds
  /// the lock (throws std::logic_error if it is not locked at all).
  task<void> wait();

  /// As `wait()`, checking that `guard` holds this condition's lock.
  task<void> wait(lock_guard& guard) {
    if (guard.mutex() != lock_) throw std::logic_error("condition::wait: the guard holds another lock");
    return wait();
  }

  /// Waits until `pred()` is true, checking it under the lock before each wait.
  template <class Pred>
  task<void> wait_for(Pred pred) {
    while (!pred()) co_await wait();
  }

  /// Wakes up to `n` waiters, longest waiting first.
  void notify(std::size_t n = 1) {
    require_locked("notify");
    for (std::size_t i = 0; i < n && waiters_.wake_front(); ++i) {}
  }
  /// Wakes every waiter.
  void notify_all() {
    require_locked("notify_all");
    waiters_.wake_all();
  }

  [[nodiscard]] std::size_t waiters() const noexcept { return waiters_.size(); }

 private:
  class notified_awaiter : detail::parked_awaiter {
   public:
    explicit notified_awaiter(condition& c) noexcept : cond_(c) {}
    bool await_ready() const noexcept { return false; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> h) {
      if (bind(h)) return false;
      park(h, cond_.waiters_);
      return true;
    }
    void await_resume() {
      if (finish()) {
        if (woken()) cond_.waiters_.wake_front();  // pass the notification on
        throw cancelled_error("cancelled while waiting on a condition");
      }
    }

   private:
    condition& cond_;
  };

  void require_locked(const char* what) const {
    if (!lock_->locked()) throw std::logic_error(std::string("condition::") + what + " without holding its lock");
  }

  lock own_;
  lock* lock_;
  detail::wait_list waiters_;
};

inline task<void> condition::wait() {
  require_locked("wait");
  lock_->release();
  std::exception_ptr error;
  try {
    co_await notified_awaiter(*this);
  } catch (const cancelled_error&) {
    error = std::current_exception();
  }
  // Take the lock back even when cancelled: the caller's guard owns it and will release it. A
  // cancellation during this re-acquisition is remembered and raised once the lock is held.
  for (;;) {
    try {
      co_await lock_->acquire();
      break;
    } catch (const cancelled_error&) {
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace trident::aio
