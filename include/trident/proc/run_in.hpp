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
#include "trident/aio/wrap_future.hpp"
#include "trident/core/errors.hpp"
#include "trident/exec/future.hpp"
#include "trident/proc/process_pool.hpp"
#include "trident/proc/queue.hpp"

namespace trident::aio {

/// Runs the registered task `fn(args...)` on a worker process of `pool` and resumes the awaiting
/// coroutine with its result (or `remote_error`, `worker_crashed_error`, …) on the loop thread.
/// The loop keeps running other tasks meanwhile; no thread is blocked. Built on
/// `wrap_future(pool.submit(...))`.
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
  return wrap_future(pool.submit(fn, std::forward<Args>(args)...));
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
