#pragma once
/// @file
/// Deadlines for coroutines: `aio::wait_for` awaits a task with a deadline (Python's
/// `asyncio.wait_for`), and `aio::timeout` bounds a piece of the current task (Python 3.11's
/// `async with asyncio.timeout(...)`).

#include <chrono>
#include <coroutine>
#include <exception>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "trident/aio/event_loop.hpp"
#include "trident/aio/spawn.hpp"
#include "trident/aio/task.hpp"
#include "trident/core/errors.hpp"

namespace trident::aio {

namespace detail {

/// Cancels a task (the one whose context it holds: a spawned task's state, or the awaiting
/// task's own context) when its deadline passes, unless disarmed first. Loop thread only.
class deadline_timer : private lowlevel::timer_node {
 public:
  deadline_timer(event_loop& loop, clock::time_point when, lowlevel::task_context& target)
      : loop_(loop), target_(target) {
    deadline = when;
    fire = &on_fire;
    loop_.arm(*this);
  }
  deadline_timer(const deadline_timer&) = delete;
  deadline_timer& operator=(const deadline_timer&) = delete;
  ~deadline_timer() { loop_.disarm(*this); }
  [[nodiscard]] bool expired() const noexcept { return expired_; }

 private:
  static void on_fire(lowlevel::timer_node* t) noexcept {
    auto* self = static_cast<deadline_timer*>(t);
    self->expired_ = true;
    self->target_.request_cancel();
  }
  event_loop& loop_;
  lowlevel::task_context& target_;
  bool expired_ = false;
};

}  // namespace detail

/// Runs `body` as part of the current task — not as a task of its own — and cancels it if it
/// has not finished within `limit`, then throws `timeout_error` (Python 3.11's
/// `async with asyncio.timeout(limit)`). Cheaper than `wait_for`, which spawns a task.
///
/// @code
///   auto greet = [&]() -> aio::task<void> {
///     auto conn = co_await aio::open_connection(host, port);
///     co_await conn.read_until("\n");
///   };
///   // Named before co_await: g++ 12 frees temporaries of a co_await operand too early (README).
///   auto body = greet();
///   co_await aio::timeout(2s, std::move(body));
/// @endcode
///
/// @par Cancellation
/// The deadline cancels the awaiting task at its current suspension point inside `body`; the
/// cancellation unwinds `body` (releasing what it holds) and comes out of `timeout` as
/// `timeout_error`. Cancelling the awaiting task for another reason raises `cancelled_error` as
/// usual. If both happen at once, `timeout_error` wins. Must be awaited from a Trident task.
template <class T, class Rep, class Period>
task<T> timeout(std::chrono::duration<Rep, Period> limit, task<T> body) {
  lowlevel::task_context* context = co_await detail::current_context{};
  if (context == nullptr) throw std::logic_error("aio::timeout must be awaited from a Trident task");
  auto& loop = event_loop::running();
  detail::deadline_timer timer(loop, loop.now() + std::chrono::duration_cast<clock::duration>(limit), *context);
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(body);
      // The deadline passed while the body waited on something that cannot be cancelled, and
      // it finished anyway: its result stands, and the request must not hit a later await.
      if (timer.expired()) (void)context->take_cancellation();
      co_return;
    } else {
      T value = co_await std::move(body);
      if (timer.expired()) (void)context->take_cancellation();
      co_return value;
    }
  } catch (const cancelled_error&) {
    if (!timer.expired()) throw;
  }
  throw timeout_error("the timeout scope's deadline passed");
}

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
    detail::deadline_timer timer(loop, loop.now() + std::chrono::duration_cast<clock::duration>(timeout),
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
