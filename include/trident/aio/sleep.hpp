#pragma once
/// @file
/// `aio::sleep`: suspend the calling coroutine for a while without blocking the loop
/// (Python's `asyncio.sleep`).

#include <chrono>
#include <coroutine>

#include "trident/aio/event_loop.hpp"
#include "trident/aio/task.hpp"
#include "trident/core/errors.hpp"

namespace trident::aio {

/// Awaitable returned by `sleep` and `sleep_until`.
///
/// @par Cancellation
/// A cancellation point: cancelling the task while it sleeps disarms the timer and raises
/// `cancelled_error` at once. Nothing is in flight, so nothing is lost.
class sleep_awaiter : private lowlevel::timer_node, private lowlevel::cancellable_wait {
 public:
  explicit sleep_awaiter(clock::time_point when) noexcept { deadline = when; }
  sleep_awaiter(const sleep_awaiter&) = delete;
  sleep_awaiter& operator=(const sleep_awaiter&) = delete;
  /// A frame destroyed while asleep (a loop destroying tasks that never finished) leaves no
  /// timer behind.
  ~sleep_awaiter() {
    if (loop_ != nullptr) loop_->disarm(*this);
  }

  bool await_ready() const noexcept { return false; }

  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    if (bind(h)) return false;
    loop_ = &event_loop::running();
    waiter_ = h;
    fire = &on_timer;
    loop_->arm(*this);
    arm(&on_cancel, this);
    return true;
  }

  void await_resume() { end_wait("cancelled while sleeping"); }

 private:
  static void on_timer(lowlevel::timer_node* t) noexcept {
    auto* self = static_cast<sleep_awaiter*>(t);
    self->loop_->schedule(self->waiter_, self->context_);
  }
  static void on_cancel(void* arg) noexcept {
    auto* self = static_cast<sleep_awaiter*>(arg);
    if (self->loop_->disarm(*self)) self->loop_->schedule(self->waiter_, self->context_);
  }

  event_loop* loop_ = nullptr;
  std::coroutine_handle<> waiter_;
};

/// Suspends the calling task for `duration` (zero or negative: yields to the other ready
/// tasks once, like `asyncio.sleep(0)`).
template <class Rep, class Period>
sleep_awaiter sleep(std::chrono::duration<Rep, Period> duration) noexcept {
  const event_loop* loop = event_loop::current();
  return sleep_awaiter((loop != nullptr ? loop->now() : clock::now()) +
                       std::chrono::duration_cast<clock::duration>(duration));
}

/// Suspends the calling task until `deadline`, a point of the loop's time (`event_loop::now()`,
/// which is the steady clock unless the loop runs on virtual time).
inline sleep_awaiter sleep_until(clock::time_point deadline) noexcept { return sleep_awaiter(deadline); }

}  // namespace trident::aio
