#pragma once
/// @file
/// `aio::run_in` and `aio::to_thread`: run blocking code on a thread pool without freezing the
/// event loop (Python's `loop.run_in_executor` and `asyncio.to_thread`).

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
auto run_in(thread_pool& pool, F&& fn, Args&&... args) {
  using R = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;
  auto bound = [fn = std::forward<F>(fn), ... args = std::forward<Args>(args)]() mutable -> R {
    return std::invoke(std::move(fn), std::move(args)...);
  };
  return wrap_future(pool.submit(std::move(bound)));
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
