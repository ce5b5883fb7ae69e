#pragma once
/// @file
/// The process layer on the event loop: `aio::run_in(process_pool&, fn, args...)` (Python's
/// `loop.run_in_executor(ProcessPoolExecutor, ...)`), and `aio::queue_get` / `aio::queue_put`
/// for `proc::queue` without blocking the loop.

#include <chrono>
#include <coroutine>
#include <exception>
#include <memory>
#include <optional>
#include <utility>

#include "trident/aio/event_loop.hpp"
#include "trident/aio/run_in.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/aio/task.hpp"
#include "trident/core/errors.hpp"
#include "trident/exec/future.hpp"
#include "trident/proc/process_pool.hpp"
#include "trident/proc/queue.hpp"

namespace trident::aio {

namespace detail {

/// Shared between the awaiter (loop thread) and the future's continuation (the pool's I/O
/// thread): whichever side comes second finds the other's mark.
struct proc_wait_state {
  std::coroutine_handle<> waiter;  // loop thread only; cleared when resumed or abandoned
  event_loop* loop = nullptr;
  const lowlevel::task_context* context = nullptr;
};

struct proc_wake_node final : ::trident::exec::detail::continuation {
  std::shared_ptr<proc_wait_state> state;
  std::shared_ptr<lowlevel::remote_endpoint> endpoint;
  proc_wake_node(std::shared_ptr<proc_wait_state> s, std::shared_ptr<lowlevel::remote_endpoint> e)
      : state(std::move(s)), endpoint(std::move(e)) {
    fire = &on_fire;
  }
  static void on_fire(::trident::exec::detail::continuation* c) noexcept {
    auto* self = static_cast<proc_wake_node*>(c);
    try {
      lowlevel::post(*self->endpoint, [state = self->state] {
        if (auto w = std::exchange(state->waiter, nullptr)) state->loop->schedule(w, state->context);
      });
    } catch (...) {
      std::terminate();  // a lost wake-up would hang the task forever
    }
    delete self;
  }
};

template <class R>
class future_awaiter : private aio::lowlevel::cancellable_wait {
 public:
  explicit future_awaiter(future<R> f) : future_(std::move(f)) {}

  bool await_ready() const { return future_.ready(); }

  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    if (bind(h)) {
      future_.cancel();
      return false;
    }
    auto& loop = event_loop::running();
    state_ = std::make_shared<proc_wait_state>();
    state_->waiter = h;
    state_->loop = &loop;
    state_->context = context_;
    auto* node = new proc_wake_node(state_, loop.endpoint());
    if (!future_.state()->add_continuation(node)) {
      delete node;
      state_->waiter = nullptr;
      return false;  // finished meanwhile
    }
    arm(&on_cancel, this);
    return true;
  }

  R await_resume() {
    end_wait("cancelled while waiting for a worker process");
    return future_.get();
  }

 private:
  /// The awaiting task was cancelled: a task not yet sent to a worker is withdrawn; one that is
  /// running finishes in its worker and its result is dropped. The task resumes now.
  static void on_cancel(void* arg) noexcept {
    auto* self = static_cast<future_awaiter*>(arg);
    (void)self->future_.cancel();
    if (auto w = std::exchange(self->state_->waiter, nullptr)) self->state_->loop->schedule(w, self->context_);
  }

  future<R> future_;
  std::shared_ptr<proc_wait_state> state_;
};

}  // namespace detail

/// Runs the registered task `fn(args...)` on a worker process of `pool` and resumes the awaiting
/// coroutine with its result (or `remote_error`, `worker_crashed_error`, …) on the loop thread.
/// The loop keeps running other tasks meanwhile; no thread is blocked.
///
/// @par Cancellation
/// A cancellation point: cancelling the awaiting task resumes it at once with
/// `cancelled_error`. If the task had not reached a worker yet it never runs; if it is running,
/// it finishes in its worker and the result is dropped.
///
/// @code
///   int n = co_await aio::run_in(pool, count_primes, lo, hi);
/// @endcode
template <class R, class... P, class... Args>
auto run_in(proc::process_pool& pool, R (*fn)(P...), Args&&... args) {
  return detail::future_awaiter<R>(pool.submit(fn, std::forward<Args>(args)...));
}

/// Takes the next value of `q` without blocking the loop; nullopt once `q` is closed and drained.
///
/// The wait happens on a thread of `default_blocking_pool()` in slices of at most 100 ms, and
/// the value is taken on the loop thread. @par Cancel safety
/// Cancel-safe: a cancelled `queue_get` has taken nothing from the queue.
template <class T>
task<std::optional<T>> queue_get(proc::queue<T>& q) {
  for (;;) {
    if (auto v = q.try_get()) co_return v;
    if (q.closed()) {
      if (auto v = q.try_get()) co_return v;
      co_return std::nullopt;
    }
    // A named awaiter, not a temporary in the co_await expression: g++ 12 destroys temporaries
    // with captured handles there twice.
    auto wait = to_thread([handle = q]() mutable { return handle.wait_readable_for(std::chrono::milliseconds(100)); });
    (void)co_await wait;
  }
}

/// Puts `value` into `q` without blocking the loop: waits for room on a helper thread.
/// Throws `channel_closed_error` if `q` is closed. @par Cancel safety
/// Not cancel-safe once the put is under way: cancelling may still deliver the value (at most
/// once); a cancelled call never delivers it twice.
template <class T>
task<void> queue_put(proc::queue<T>& q, T value) {
  if (q.try_put(value)) co_return;
  auto put = to_thread([handle = q, value = std::move(value)]() mutable { handle.put(value); });  // named: see queue_get
  co_await put;
}

}  // namespace trident::aio
