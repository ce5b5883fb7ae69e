#pragma once
/// @file
/// `thread_pool`: a work-stealing pool of threads (Python's `ThreadPoolExecutor`, done for C++).

#include <algorithm>
#include <cstddef>
#include <functional>
#include <iosfwd>
#include <iterator>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "trident/core/errors.hpp"
#include "trident/core/shutdown_mode.hpp"
#include "trident/exec/detail/task_node.hpp"
#include "trident/exec/future.hpp"

namespace trident::exec {

/// How a `thread_pool` is set up.
struct thread_pool_options {
  std::size_t workers = default_worker_count();  ///< Worker threads (at least 1).
  std::string name = "trident-pool";             ///< Prefix of worker thread names (timelines, `top -H`).

  /// The number of hardware threads (at least 1).
  static std::size_t default_worker_count() noexcept;
};

/// A snapshot of a pool's counters; each is read without stopping the pool, so the sum of a
/// snapshot may be off by the tasks that moved while it was taken.
struct thread_pool_statistics {
  std::size_t workers = 0;
  std::size_t queued = 0;     ///< Waiting in some queue (cancelled-but-queued tasks included).
  std::size_t running = 0;    ///< Being executed right now.
  std::size_t completed = 0;  ///< Ran to the end (with a value or an exception).
  std::size_t stolen = 0;     ///< Taken by a worker from another worker's deque.
};

std::ostream& operator<<(std::ostream& out, const thread_pool_statistics& s);

/// A fixed set of worker threads that run submitted callables.
///
/// Scheduling: each worker owns a Chase-Lev deque for the work it submits itself (nested tasks,
/// newest first) and an inbox for work from outside (oldest first). Threads outside the pool push
/// onto one shared injection stack; a worker that finds its deque and inbox empty moves the whole
/// stack into its inbox, oldest first, where others can steal it, then steals from the other
/// workers (inbox, then deque). Outside work therefore starts in submission order. Idle workers
/// sleep on a futex; a pool with nothing to do uses no CPU. (src/exec/thread_pool.cpp has the
/// details and the memory-order argument.)
///
/// @par Waiting inside the pool
/// A worker that waits on a `future` (or `task_group`, `as_completed`, `when_all`…) runs other
/// queued tasks while it waits, so nested submit-and-wait never deadlocks, even with one worker.
///
/// @par Exceptions
/// An exception thrown by a submitted callable is stored in its future and rethrown by `get()`.
/// An exception escaping `post`ed work (which has no future) is reported on stderr; it never
/// terminates the process.
///
/// @par Shutdown
/// 1. `shutdown(mode)` stops accepting work from outside the pool (`submit` then throws
///    `shutdown_error`); tasks already running may still submit nested work.
/// 2. With `shutdown_mode::wait`, workers drain every queue; with `cancel_pending`, queued tasks
///    are cancelled instead.
/// 3. Workers exit and are joined. The destructor does `shutdown(shutdown_mode::wait)`.
///
/// @par Thread safety
/// All member functions may be called from any thread, including the pool's own workers, except
/// `shutdown` and the destructor, which must not run on a worker of the same pool (a worker
/// cannot join itself: `shutdown` throws `std::logic_error`; the destructor would terminate).
///
/// @code
///   trident::exec::thread_pool pool(4);
///   auto f = pool.submit([](int x) { return x * 2; }, 21);
///   std::vector<int> squares = pool.map([](int x) { return x * x; }, std::vector{1, 2, 3});
///   f.get();  // 42
/// @endcode
class thread_pool {
 public:
  /// Starts `workers` worker threads. Throws std::invalid_argument for 0.
  explicit thread_pool(std::size_t workers = thread_pool_options::default_worker_count());
  explicit thread_pool(thread_pool_options options);
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;
  ~thread_pool();

  /// Schedules `fn(args...)` and returns the future of its result. Arguments are decay-copied
  /// (use std::ref to pass a reference). Throws `shutdown_error` after shutdown.
  template <class F, class... Args>
  auto submit(F&& fn, Args&&... args) -> future<std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>> {
    using R = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;
    auto bound = bind(std::forward<F>(fn), std::forward<Args>(args)...);
    auto* node = new exec::detail::future_task<R, decltype(bound)>(std::move(bound));
    future<R> result(static_cast<exec::detail::shared_state<R>*>(node));
    schedule(node);
    return result;
  }

  /// Schedules `fn(args...)` without a future (cheaper than `submit`). An exception escaping it
  /// is reported on stderr. Throws `shutdown_error` after shutdown.
  template <class F, class... Args>
  void post(F&& fn, Args&&... args) {
    auto bound = bind(std::forward<F>(fn), std::forward<Args>(args)...);
    schedule(new exec::detail::function_task<decltype(bound)>(std::move(bound)));
  }

  /// Applies `fn` to every element of `items` on the pool and returns the results in input
  /// order (Python's `Executor.map`, eager). Elements are grouped into chunks of `chunk_size`
  /// (0: chosen from the size and the thread count). If calls throw, the exception of the first
  /// failing element in input order is rethrown after all chunks finished.
  template <class F, class Range>
  auto map(F fn, const Range& items, std::size_t chunk_size = 0)
      -> std::vector<std::invoke_result_t<F&, decltype(*std::begin(items))>>;

  /// Stops the pool; see the class comment for the steps. Idempotent.
  void shutdown(shutdown_mode mode = shutdown_mode::wait);

  /// Whether `shutdown` has been called.
  [[nodiscard]] bool is_shut_down() const noexcept;

  /// The number of worker threads.
  [[nodiscard]] std::size_t size() const noexcept;

  [[nodiscard]] thread_pool_statistics statistics() const;

  /// The pool whose worker is the calling thread, or nullptr.
  [[nodiscard]] static thread_pool* current() noexcept;

  /// Index of the calling worker in its pool (0-based), or -1 off the pool's threads.
  [[nodiscard]] static int current_worker_index() noexcept;

  /// Runs one queued task on the calling thread if there is one; for threads that want to help
  /// while they wait for something the pool will produce. Returns whether a task ran.
  bool try_run_one();

  friend std::ostream& operator<<(std::ostream& out, const thread_pool& pool);
  friend class task_group;  // schedules its own node type, which reports being discarded

 private:
  struct impl;

  template <class F, class... Args>
  static auto bind(F&& fn, Args&&... args) {
    return [fn = std::forward<F>(fn), ... args = std::forward<Args>(args)]() mutable -> decltype(auto) {
      return std::invoke(std::move(fn), std::move(args)...);
    };
  }

  /// Queues `node` (taking ownership) or, after shutdown, discards it and throws.
  void schedule(exec::detail::task_node* node);

  std::unique_ptr<impl> impl_;
};

template <class F, class Range>
auto thread_pool::map(F fn, const Range& items, std::size_t chunk_size)
    -> std::vector<std::invoke_result_t<F&, decltype(*std::begin(items))>> {
  using R = std::invoke_result_t<F&, decltype(*std::begin(items))>;
  static_assert(!std::is_void_v<R>, "map needs a function that returns a value; use parallel_for");
  using iterator = decltype(std::begin(items));
  const auto count = static_cast<std::size_t>(std::distance(std::begin(items), std::end(items)));
  if (chunk_size == 0) chunk_size = std::max<std::size_t>(1, count / (size() * 4));
  std::vector<future<std::vector<R>>> chunks;
  chunks.reserve(count / chunk_size + 1);
  auto it = std::begin(items);
  try {
    for (std::size_t done = 0; done < count;) {
      const std::size_t n = std::min(chunk_size, count - done);
      iterator first = it;
      std::advance(it, n);
      chunks.push_back(submit([&fn, first, n]() {
        std::vector<R> out;
        out.reserve(n);
        iterator cursor = first;
        for (std::size_t i = 0; i < n; ++i, ++cursor) out.push_back(fn(*cursor));
        return out;
      }));
      done += n;
    }
  } catch (...) {
    // A submit failed (shutdown meanwhile, or out of memory): the chunks already queued refer
    // to `fn` and `items`, so none may run after this returns.
    for (auto& c : chunks) c.cancel();
    for (auto& c : chunks) c.wait();
    throw;
  }
  // Wait for every chunk before rethrowing, so no chunk still uses `fn` or `items` after return.
  for (auto& c : chunks) c.wait();
  std::vector<R> results;
  results.reserve(count);
  for (auto& c : chunks) {
    for (auto& r : c.get()) results.push_back(std::move(r));
  }
  return results;
}

}  // namespace trident::exec

// This header's names under their 0.1 spelling, directly in `trident::`: deprecated until 0.3.
#define TRIDENT_EXEC_THREAD_POOL_HPP
#include "trident/exec/deprecated_names.hpp"
