#pragma once
/// @file
/// `aio::stop_requested`: suspend a task until a `std::stop_token` is asked to stop — by another
/// thread, or by a signal through `trident::stop_signals` (Python's `loop.add_signal_handler`,
/// tokio's `signal::ctrl_c().await`). Built on the low-level remote wake-up (aio/lowlevel.hpp):
/// the stop is requested on whatever thread calls `request_stop`, and the task resumes on its
/// own loop thread.
///
/// Protocol (the loop thread `L`, the thread `S` that requests the stop):
///  1. `await_suspend` (L) fills a shared `remote_wait_state` and registers a
///     `std::stop_callback` on the token that holds it and the loop's endpoint. If the stop was
///     requested meanwhile, the callback runs at once on `L` and only posts, like step 2.
///  2. The callback (S) posts "resume the waiter, if it still waits" to the loop's endpoint; it
///     never touches the coroutine or the loop. If the loop has ended, the post is dropped.
///  3. `await_resume` (L) unregisters the callback (waiting for it if it is running on `S`,
///     which takes no longer than the post). Cancellation (L) resumes the waiter itself; a late
///     post then finds no waiter.

#include <coroutine>
#include <memory>
#include <optional>
#include <stop_token>
#include <utility>

#include "trident/aio/event_loop.hpp"
#include "trident/aio/lowlevel/remote_wait.hpp"
#include "trident/aio/lowlevel/task_context.hpp"

namespace trident::aio {

/// The awaitable `stop_requested` returns.
class [[nodiscard]] stop_awaiter : private lowlevel::cancellable_wait {
 public:
  explicit stop_awaiter(std::stop_token token) noexcept : token_(std::move(token)) {}
  stop_awaiter(const stop_awaiter&) = delete;
  stop_awaiter& operator=(const stop_awaiter&) = delete;

  bool await_ready() const noexcept { return token_.stop_requested(); }

  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    if (bind(h)) return false;  // cancelled before it waited
    auto& loop = event_loop::running();
    state_ = std::make_shared<lowlevel::remote_wait_state>();
    state_->waiter = h;
    state_->loop = &loop;
    state_->context = context_;
    callback_.emplace(token_, waker{state_, loop.endpoint()});
    arm(&on_cancel, this);
    return true;
  }

  void await_resume() {
    callback_.reset();
    end_wait("cancelled while waiting for a stop request");
  }

 private:
  /// Step 2 of the protocol, on the thread that requests the stop.
  struct waker {
    std::shared_ptr<lowlevel::remote_wait_state> state;
    std::shared_ptr<lowlevel::remote_endpoint> endpoint;
    void operator()() const noexcept { lowlevel::post_resume(*endpoint, state); }
  };

  static void on_cancel(void* arg) noexcept { static_cast<stop_awaiter*>(arg)->state_->resume(); }

  std::stop_token token_;
  std::shared_ptr<lowlevel::remote_wait_state> state_;
  std::optional<std::stop_callback<waker>> callback_;
};

/// Suspends the calling task until `token` is asked to stop; at once if it was already. The loop
/// runs other tasks meanwhile and no thread blocks. Must be awaited on a loop thread. A token
/// that can never be asked to stop (`!token.stop_possible()`) waits until the task is cancelled.
///
/// @par Cancellation
/// A cancellation point: cancelling the awaiting task resumes it at once with `cancelled_error`
/// and unregisters it from the token; the token is not affected.
///
/// @par Thread safety
/// The stop may be requested from any thread (a `stop_signals` requests it on its signal thread),
/// also after the loop has ended (the wake-up is then dropped).
///
/// @code
///   trident::stop_signals signals;               // before aio::run, in main
///   auto main_task = [&]() -> aio::task<int> {
///     auto work = aio::spawn(serve(), "serve");
///     auto stopped = aio::stop_requested(signals.token());  // named: g++ 12 (docs/aio.md)
///     co_await stopped;                                     // Ctrl-C, SIGTERM or SIGHUP
///     work.cancel();
///     co_await work.wait();
///     co_return 128 + signals.received();
///   };
///   return aio::run(main_task());
/// @endcode
inline stop_awaiter stop_requested(std::stop_token token) noexcept { return stop_awaiter(std::move(token)); }

}  // namespace trident::aio
