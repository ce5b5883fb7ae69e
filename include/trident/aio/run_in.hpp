#pragma once
/// @file
/// `aio::run_in` and `aio::to_thread`: run blocking code on a thread pool without freezing the
/// event loop (Python's `loop.run_in_executor` and `asyncio.to_thread`). `run_in` also takes
/// any other executor whose `submit(fn, args...)` returns a `trident::exec::future`: the process
/// layer's `proc::process_pool` (trident/proc/run_in.hpp), the cluster layer's `cluster_pool`, or
/// a user's own. Those layers add nothing to `trident::aio`; the verb is aio's alone.

#include <functional>
#include <type_traits>
#include <utility>

#include "trident/aio/wrap_future.hpp"
#include "trident/exec/thread_pool.hpp"

namespace trident::aio {

/// Runs `fn(args...)` on `pool` and resumes the awaiting task with its result or exception on
/// the loop thread; the loop keeps running other tasks meanwhile.
///
/// Built on `wrap_future(pool.submit(...))`.
///
/// @par Cancellation
/// A cancellation point: cancelling the awaiting task resumes it at once with `cancelled_error`.
/// A call still queued in the pool never runs; a running one cannot be interrupted: it
/// finishes on its thread and its result is dropped.
///
/// @code
///   std::string text = co_await aio::run_in(pool, read_file, path);
/// @endcode
template <class F, class... Args>
auto run_in(exec::thread_pool& pool, F&& fn, Args&&... args) {
  using R = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;
  auto bound = [fn = std::forward<F>(fn), ... args = std::forward<Args>(args)]() mutable -> R {
    return std::invoke(std::move(fn), std::move(args)...);
  };
  return wrap_future(pool.submit(std::move(bound)));
}

/// An executor `run_in` can await: `e.submit(fn, args...)` returns a `trident::exec::future<T>`.
/// What `fn` may be is the executor's own rule (a process pool takes only registered task
/// functions and says so at compile time).
template <class Executor, class F, class... Args>
concept future_executor = requires(Executor& e, F&& fn, Args&&... args) {
  wrap_future(e.submit(std::forward<F>(fn), std::forward<Args>(args)...));
};

/// Runs `fn(args...)` on `executor` through its `submit` and resumes the awaiting task with the
/// result or exception on the loop thread: `wrap_future(executor.submit(fn, args...))`.
///
/// @par Cancellation
/// A cancellation point: cancelling the awaiting task resumes it at once with `cancelled_error`;
/// whether the call still runs is the executor's `future::cancel()` (a process pool drops a task
/// that has not reached a worker; a running one finishes and its result is dropped).
///
/// @code
///   int n = co_await aio::run_in(process_pool, count_primes, lo, hi);
/// @endcode
template <class Executor, class F, class... Args>
  requires future_executor<Executor, F, Args...>
auto run_in(Executor& executor, F&& fn, Args&&... args) {
  return wrap_future(executor.submit(std::forward<F>(fn), std::forward<Args>(args)...));
}

/// The pool `to_thread` uses: created on first use with one thread per hardware thread (at
/// least 4, since its calls mostly block), shut down at exit.
exec::thread_pool& default_blocking_pool();

/// `run_in(default_blocking_pool(), fn, args...)`: Python's `asyncio.to_thread`.
template <class F, class... Args>
auto to_thread(F&& fn, Args&&... args) {
  return run_in(default_blocking_pool(), std::forward<F>(fn), std::forward<Args>(args)...);
}

}  // namespace trident::aio
