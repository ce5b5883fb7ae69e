#pragma once
/// @file
/// `aio::run_in` and `aio::to_thread`: run blocking code on a thread pool without freezing the
/// event loop (Python's `loop.run_in_executor` and `asyncio.to_thread`).

#include <coroutine>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "trident/aio/event_loop.hpp"
#include "trident/aio/task.hpp"
#include "trident/core/errors.hpp"
#include "trident/exec/thread_pool.hpp"

namespace trident::aio {

namespace detail {

template <class R>
using result_holder_t = std::conditional_t<std::is_void_v<R>, bool, R>;

/// What the pool thread hands back to the loop. Shared, because either side may finish first:
/// a cancelled awaiter leaves while the call still runs.
template <class R>
struct offload_state {
  std::optional<result_holder_t<R>> value;
  std::exception_ptr error;
  std::coroutine_handle<> waiter;  // loop thread only; cleared when the awaiter gave up
  event_loop* loop = nullptr;
  const lowlevel::task_context* context = nullptr;  // names the task in debug reports
};

template <class R, class F>
class offload_awaiter : private lowlevel::cancellable_wait {
 public:
  offload_awaiter(thread_pool& pool, F fn) : pool_(pool), fn_(std::move(fn)) {}

  bool await_ready() const noexcept { return false; }

  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    if (bind(h)) return false;
    auto& loop = event_loop::running();
    state_ = std::make_shared<offload_state<R>>();
    state_->waiter = h;
    state_->loop = &loop;
    state_->context = context_;
    pool_.post([state = state_, endpoint = loop.endpoint(), fn = std::move(fn_)]() mutable {
      try {
        if constexpr (std::is_void_v<R>) {
          fn();
          state->value.emplace(true);
        } else {
          state->value.emplace(fn());
        }
      } catch (...) {
        state->error = std::current_exception();
      }
      // Back on the loop thread (dropped if the loop has ended meanwhile).
      post(*endpoint, [state] {
        if (auto w = std::exchange(state->waiter, nullptr)) state->loop->schedule(w, state->context);
      });
    });
    arm(&on_cancel, this);
    return true;
  }

  R await_resume() {
    end_wait("cancelled while waiting for a thread");
    if (state_->error) std::rethrow_exception(state_->error);
    if constexpr (!std::is_void_v<R>) return std::move(*state_->value);
  }

 private:
  /// The awaiting task was cancelled: it resumes now; the call keeps running on its thread
  /// (threads cannot be interrupted) and its result is dropped.
  static void on_cancel(void* arg) noexcept {
    auto* self = static_cast<offload_awaiter*>(arg);
    if (auto w = std::exchange(self->state_->waiter, nullptr)) self->state_->loop->schedule(w, self->context_);
  }

  thread_pool& pool_;
  F fn_;
  std::shared_ptr<offload_state<R>> state_;
};

}  // namespace detail

/// Runs `fn(args...)` on `pool` and resumes the awaiting task with its result or exception on
/// the loop thread; the loop keeps running other tasks meanwhile.
///
/// @par Cancellation
/// A cancellation point: cancelling the awaiting task resumes it at once with `cancelled_error`.
/// The call itself cannot be interrupted; it finishes on its thread and its result is dropped.
///
/// @code
///   std::string text = co_await aio::run_in(pool, read_file, path);
/// @endcode
template <class F, class... Args>
auto run_in(thread_pool& pool, F&& fn, Args&&... args) {
  using R = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;
  auto bound = [fn = std::forward<F>(fn), ... args = std::forward<Args>(args)]() mutable -> R {
    return std::invoke(std::move(fn), std::move(args)...);
  };
  return detail::offload_awaiter<R, decltype(bound)>(pool, std::move(bound));
}

/// The pool `to_thread` uses: created on first use with one thread per hardware thread (at
/// least 4, since its calls mostly block), shut down at exit.
thread_pool& default_blocking_pool();

/// `run_in(default_blocking_pool(), fn, args...)`: Python's `asyncio.to_thread`.
template <class F, class... Args>
auto to_thread(F&& fn, Args&&... args) {
  return run_in(default_blocking_pool(), std::forward<F>(fn), std::forward<Args>(args)...);
}

}  // namespace trident::aio
