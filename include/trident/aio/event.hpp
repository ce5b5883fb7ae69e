#pragma once
/// @file
/// `aio::event`: a flag that coroutines wait for (Python's `asyncio.Event`).

#include <coroutine>
#include <cstddef>

#include "trident/aio/detail/wait_list.hpp"
#include "trident/aio/event_loop.hpp"
#include "trident/aio/task.hpp"
#include "trident/core/errors.hpp"

namespace trident::aio {

/// A flag, initially clear. `set()` wakes every waiting coroutine; `wait()` returns at once while
/// the flag is set. `clear()` makes later `wait()`s block again; coroutines already woken by a
/// `set()` return even if the flag was cleared before they ran (as in asyncio).
///
/// @par Thread safety
/// Loop thread only. (From another thread: `loop.post([&] { ev.set(); })`.) The event must
/// outlive its waiters.
///
/// @par Cancellation
/// `wait()` is a cancellation point, also when the flag is set. A cancelled waiter leaves the
/// queue and raises `cancelled_error`; nothing is in flight, so nothing is lost, and the other
/// waiters are unaffected.
///
/// @code
///   aio::event ready;
///   aio::task<void> worker() { co_await ready.wait(); /* go */ }
///   // elsewhere, on the loop: ready.set();
/// @endcode
class event {
 public:
  /// Awaiter of `wait()`.
  class wait_awaiter : detail::parked_awaiter {
   public:
    explicit wait_awaiter(event& e) noexcept : event_(e) {}
    bool await_ready() const noexcept { return false; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> h) {
      if (bind(h)) return false;
      if (event_.set_) return false;
      park(h, event_.waiters_);
      return true;
    }
    void await_resume() {
      if (finish()) throw cancelled_error("cancelled while waiting for an event");
    }

   private:
    event& event_;
  };

  event() noexcept = default;
  event(const event&) = delete;
  event& operator=(const event&) = delete;

  /// Sets the flag and wakes every waiter.
  void set() {
    set_ = true;
    waiters_.wake_all();
  }
  /// Clears the flag.
  void clear() noexcept { set_ = false; }
  [[nodiscard]] bool is_set() const noexcept { return set_; }
  /// Waits until the flag is set. A cancellation point.
  [[nodiscard]] wait_awaiter wait() noexcept { return wait_awaiter(*this); }
  [[nodiscard]] std::size_t waiters() const noexcept { return waiters_.size(); }

 private:
  bool set_ = false;
  detail::wait_list waiters_;
};

}  // namespace trident::aio
