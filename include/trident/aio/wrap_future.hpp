#pragma once
/// @file
/// `aio::wrap_future`: await a `trident::exec::future<T>` — from a thread pool, a process pool or a
/// promise — from a coroutine without blocking the loop (Python's `asyncio.wrap_future`). The
/// one bridge from futures to coroutines: `aio::run_in` for thread pools and for process pools
/// are built on it.
///
/// Why a named function and not an `operator co_await` for `future<T>`: awaiting needs a
/// running event loop and decides what cancelling the awaiting task does to the work (here: the
/// future is cancelled if its task has not started). A bare `co_await f` would hide both, and
/// would make the exec layer's type awaitable only where an aio header happens to be included.
///
/// Protocol (the loop thread `L`, the thread `P` that makes the future ready):
///  1. `await_suspend` (L) links a `continuation` on the future (exec/continuation.hpp) holding
///     a shared `remote_wait_state` and the loop's endpoint, and installs the task's cancel hook. If
///     the future is ready first, the coroutine does not suspend.
///  2. `fire` (P) posts "resume the waiter, if it still waits" to the loop's endpoint; it never
///     touches the coroutine or the loop directly. If the loop has ended, the post is dropped.
///  3. Cancellation (L): the future is cancelled (a task not started never runs), the waiter
///     is cleared from `remote_wait_state` and the coroutine resumes with `cancelled_error`. The
///     continuation stays linked — continuations cannot be withdrawn — and when it fires later
///     its post finds no waiter; `remote_wait_state` is shared, so that late post touches no freed
///     memory.

#include <coroutine>
#include <exception>
#include <memory>
#include <utility>

#include "trident/aio/event_loop.hpp"
#include "trident/aio/lowlevel/remote_wait.hpp"
#include "trident/aio/task.hpp"
#include "trident/core/errors.hpp"
#include "trident/exec/continuation.hpp"
#include "trident/exec/future.hpp"

namespace trident::aio {

namespace detail {

/// Step 2 of the protocol: the continuation linked on the future.
struct future_wake_node final : ::trident::exec::continuation {
  future_wake_node(std::shared_ptr<lowlevel::remote_wait_state> s,
                   std::shared_ptr<lowlevel::remote_endpoint> e) noexcept
      : state(std::move(s)), endpoint(std::move(e)) {
    fire = &on_fire;
  }
  static void on_fire(::trident::exec::continuation* c) noexcept {
    auto* self = static_cast<future_wake_node*>(c);
    lowlevel::post_resume(*self->endpoint, std::move(self->state));
    delete self;
  }
  std::shared_ptr<lowlevel::remote_wait_state> state;
  std::shared_ptr<lowlevel::remote_endpoint> endpoint;
};

}  // namespace detail

/// The awaitable `wrap_future` returns; owns the future until the result is taken.
template <class T>
class [[nodiscard]] future_awaiter : private lowlevel::cancellable_wait {
 public:
  explicit future_awaiter(exec::future<T> f) noexcept : future_(std::move(f)) {}

  bool await_ready() const { return future_.ready(); }

  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    if (bind(h)) {  // cancelled before it waited: withdraw the task if it has not started
      (void)future_.cancel();
      return false;
    }
    auto& loop = event_loop::running();
    state_ = std::make_shared<lowlevel::remote_wait_state>();
    state_->waiter = h;
    state_->loop = &loop;
    state_->context = context_;
    auto* node = new detail::future_wake_node(state_, loop.endpoint());
    if (!exec::add_continuation(future_, *node)) {  // ready meanwhile: the node never fires
      delete node;
      state_->waiter = nullptr;
      return false;
    }
    arm(&on_cancel, this);
    return true;
  }

  T await_resume() {
    end_wait("cancelled while waiting for a future");
    return future_.get();
  }

 private:
  /// Step 3 of the protocol.
  static void on_cancel(void* arg) noexcept {
    auto* self = static_cast<future_awaiter*>(arg);
    (void)self->future_.cancel();
    self->state_->resume();
  }

  exec::future<T> future_;
  std::shared_ptr<lowlevel::remote_wait_state> state_;
};

/// Awaits `f` on the running loop: the task resumes on the loop thread with `f`'s value, or
/// with the exception `f` holds (`cancelled_error` if its task was cancelled). The loop runs
/// other tasks meanwhile; no thread blocks. Must be awaited on a loop thread.
///
/// @par Cancellation
/// A cancellation point: cancelling the awaiting task resumes it at once with
/// `cancelled_error` and detaches it from `f`. `f` is cancelled too, so a task that has not
/// started never runs; one already running finishes where it runs and its result is dropped.
///
/// @par Thread safety
/// `f` may be completed from any thread, also after the loop has ended (the wake-up is then
/// dropped).
///
/// @code
///   trident::exec::future<int> f = pool.submit(count_primes, 0, 1'000'000);
///   auto primes = aio::wrap_future(std::move(f));  // named: g++ 12 and temporaries in co_await (docs/aio.md)
///   int n = co_await primes;
/// @endcode
template <class T>
future_awaiter<T> wrap_future(exec::future<T> f) {
  if (!f.valid()) throw future_error("wrap_future: future has no state");
  return future_awaiter<T>(std::move(f));
}

}  // namespace trident::aio
