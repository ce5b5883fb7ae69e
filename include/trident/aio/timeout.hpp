#pragma once
/// @file
/// `aio::wait_for`: await a task with a deadline (Python's `asyncio.wait_for`).

#include <chrono>
#include <exception>
#include <type_traits>
#include <utility>

#include "trident/aio/event_loop.hpp"
#include "trident/aio/spawn.hpp"
#include "trident/aio/task.hpp"
#include "trident/core/errors.hpp"

namespace trident::aio {

namespace detail {

/// Cancels a spawned task when its deadline passes, unless disarmed first. Loop thread only.
class deadline_timer : private timer_node {
 public:
  deadline_timer(event_loop& loop, clock::time_point when, spawned_base& target) : loop_(loop), target_(target) {
    deadline = when;
    fire = &on_fire;
    loop_.arm(*this);
  }
  deadline_timer(const deadline_timer&) = delete;
  deadline_timer& operator=(const deadline_timer&) = delete;
  ~deadline_timer() { loop_.disarm(*this); }
  [[nodiscard]] bool expired() const noexcept { return expired_; }

 private:
  static void on_fire(timer_node* t) noexcept {
    auto* self = static_cast<deadline_timer*>(t);
    self->expired_ = true;
    self->target_.cancel();
  }
  event_loop& loop_;
  spawned_base& target_;
  bool expired_ = false;
};

}  // namespace detail

/// Runs `t` and returns its value; if it has not finished within `timeout`, cancels it, waits
/// for it to end, and throws `timeout_error`.
///
/// @par Cancellation
/// A cancellation point: cancelling the awaiting task cancels `t` too and raises
/// `cancelled_error` (not `timeout_error`) once `t` has ended. A task holding a semaphore or
/// lock releases it as its cancellation unwinds.
template <class T, class Rep, class Period>
task<T> wait_for(task<T> t, std::chrono::duration<Rep, Period> timeout) {
  auto& loop = event_loop::running();
  auto handle = spawn(loop, std::move(t), "wait_for");
  bool timed_out = false;
  {
    detail::deadline_timer timer(loop, clock::now() + std::chrono::duration_cast<clock::duration>(timeout),
                                 *handle.state());
    co_await handle.wait();
    timed_out = timer.expired();
  }
  if (timed_out && handle.cancelled()) {
    (void)handle.exception();  // retrieved: the timeout replaces it
    throw timeout_error("task did not finish within the timeout");
  }
  co_return co_await handle;
}

}  // namespace trident::aio
