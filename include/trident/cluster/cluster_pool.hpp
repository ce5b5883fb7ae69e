#pragma once
/// @file
/// `cluster_pool`: the process pool's interface over MPI ranks. The same registered tasks
/// (`TRIDENT_TASK`) run on the other ranks of an `mpirun` job, with the process pool's codec;
/// alone (no `mpirun`), the same object is a local `proc::process_pool`. From a coroutine,
/// `co_await aio::run_in(pool, fn, args...)` awaits a task without blocking the loop (aio's
/// `run_in` takes any pool whose `submit` returns a `trident::exec::future`).

#include <chrono>
#include <cstddef>
#include <iosfwd>
#include <iterator>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "trident/aio/run_in.hpp"
#include "trident/cluster/errors.hpp"
#include "trident/core/shutdown_mode.hpp"
#include "trident/exec/future.hpp"
#include "trident/exec/when_all.hpp"
#include "trident/proc/lowlevel.hpp"
#include "trident/proc/process_pool.hpp"

namespace trident::cluster {

/// What runs the tasks a rank receives.
enum class rank_executor {
  /// A local `proc::process_pool` on each rank: a task that crashes fails only its own future
  /// (the rank's pool replaces the worker), and per-task timeouts apply.
  process_pool,
  /// A `thread_pool` on each rank: less overhead per task, but a crashing task ends its rank
  /// (then the driver reports the rank lost), and per-task timeouts do not apply.
  thread_pool,
};

/// How a `cluster_pool` is set up.
struct cluster_pool_options {
  rank_executor executor = rank_executor::process_pool;
  /// Workers (processes or threads) on each worker rank; 0: that rank's hardware threads.
  std::size_t workers_per_rank = 0;
  /// Tasks the driver keeps at a rank per worker there, so that a worker never waits for the
  /// network between two tasks (at least 1).
  std::size_t tasks_in_flight_per_worker = 4;
  /// Alone (no `mpirun`): the local process pool's workers; 0: the hardware threads.
  std::size_t local_workers = 0;
  /// Default per-task timeout (0: none); see `process_pool_options::task_timeout`.
  std::chrono::milliseconds task_timeout{0};
  /// Marks every task of this pool re-runnable: when its rank is lost (its process died, or it
  /// was silent past `TRIDENT_CLUSTER_TIMEOUT_MS`), the task is sent again to a surviving rank
  /// instead of failing, and the pool goes on without the lost rank. Only for tasks whose effects
  /// are all in their result: the lost rank may have run the task partly or wholly. Needs a
  /// launcher that keeps the job alive after a rank dies (`mpirun --enable-recovery`; without
  /// it Open MPI 4.1 ends the whole job, see docs/cluster.md).
  bool rerun_lost_tasks = false;
  /// With `rerun_lost_tasks`: how many times in all one task may be sent to a rank (at least 1;
  /// default 3: the first run and two re-runs). A task lost that many times fails with
  /// `rank_lost_error`.
  std::size_t max_attempts = 3;
};

/// One worker rank as the driver sees it.
struct rank_statistics {
  int rank = 0;
  std::string host;
  int pid = 0;
  std::size_t workers = 0;    ///< Workers of its executor.
  std::size_t completed = 0;  ///< Tasks (a `map` chunk counts as one) that came back from it.
  std::size_t items = 0;      ///< Calls they contained (a chunk counts its items).
  bool alive = true;
};

/// A snapshot of a cluster pool's counters.
struct cluster_pool_statistics {
  bool distributed = false;            ///< false: running alone, on a local process pool.
  std::size_t submitted = 0;           ///< Tasks accepted (a chunk counts as one).
  std::size_t queued = 0;              ///< Not yet sent to a rank.
  std::size_t in_flight = 0;           ///< Sent to a rank, result not back yet.
  std::size_t completed = 0;           ///< Came back with a value or an error.
  std::size_t lost = 0;                ///< Failed with `rank_lost_error`.
  std::size_t rerun = 0;               ///< Sent again to another rank after their rank was lost.
  std::size_t cancelled = 0;           ///< Never ran.
  std::vector<rank_statistics> ranks;  ///< Worker ranks, in rank order (empty alone).
};

std::ostream& operator<<(std::ostream& out, const cluster_pool_statistics& s);

/// Runs registered tasks on the worker ranks of an MPI job: rank 0 (the driver, where this
/// object lives) sends each task to a rank with room for it, and the rank runs it on its own
/// executor (`rank_executor`). Alone, it is a local `proc::process_pool` with the same
/// interface. Requires `cluster::worker_main` first in `main`.
///
/// @par Scheduling
/// Dynamic: the driver keeps `tasks_in_flight_per_worker` tasks per worker at each rank and
/// sends the next one to whichever rank returns a result (a result is the rank's request for
/// more work), so uneven tasks balance. One communication thread on the driver does all MPI
/// calls; idle, it sleeps (backing off from 50 µs to 2 ms) instead of spinning in MPI.
///
/// @par Errors
/// A task's exception comes back as `task_error` (a `proc::remote_error` naming the task and
/// rank); a crash of a rank's worker process as `proc::worker_crashed_error`, a timeout as
/// `proc::task_timeout_error`, both with the task and the rank in the message. A rank that dies
/// (or is silent past `TRIDENT_CLUSTER_TIMEOUT_MS`, default 10000) fails every task with
/// `rank_lost_error`, the lost ones first — unless the pool's tasks are re-runnable
/// (`cluster_pool_options::rerun_lost_tasks`): then the lost rank's tasks run again on the
/// surviving ranks, up to `max_attempts` runs each. See docs/cluster.md for what survives.
///
/// @par Cancellation
/// `future::cancel()` drops a task that was not yet sent to a rank; a sent task runs.
///
/// @par Shutdown
/// `shutdown()` waits for queued and running tasks (or cancels the queued ones with
/// `shutdown_mode::cancel_pending`), then stops the ranks' executors; `terminate()` fails what
/// is left with `cancelled_error` and stops them at once. The destructor does `shutdown()`.
/// The ranks themselves stay until the program ends (`worker_main` arranges that they exit
/// with it), so a later `cluster_pool` uses them again.
///
/// @par Thread safety
/// Every member may be called from any thread, except `shutdown`, `terminate` and the destructor
/// from a continuation of one of its futures. One `cluster_pool` at a time per program.
class cluster_pool {
 public:
  /// Under `mpirun`: sets up every worker rank's executor and waits until all are ready
  /// (throws `cluster_start_error` otherwise). Alone: starts the local process pool.
  explicit cluster_pool(cluster_pool_options options = {});
  cluster_pool(const cluster_pool&) = delete;
  cluster_pool& operator=(const cluster_pool&) = delete;
  ~cluster_pool();

  /// Runs `fn(args...)` on a rank; `fn` must be registered with `TRIDENT_TASK`. As
  /// `process_pool::submit`: arguments are encoded at once; throws `shutdown_error` after
  /// shutdown and `rank_lost_error` once a rank was lost.
  template <class F, class... Args>
  exec::future<proc::lowlevel::task_result_t<F>> submit(F&& fn, Args&&... args) {
    return submit_for(options_timeout(), std::forward<F>(fn), std::forward<Args>(args)...);
  }

  /// Like `submit`, with a per-task `timeout` (0: none; applies with `rank_executor::process_pool`).
  template <class F, class... Args>
  exec::future<proc::lowlevel::task_result_t<F>> submit_for(std::chrono::milliseconds timeout, F&& fn, Args&&... args) {
    constexpr bool is_function = proc::lowlevel::is_task_function_v<F>;
    static_assert(is_function,
                  "cluster_pool::submit needs a named function registered with TRIDENT_TASK(name) at namespace "
                  "scope; a lambda or other callable object cannot cross a process boundary");
    if constexpr (is_function) {
      using fn_t = std::decay_t<F>;
      using params = proc::lowlevel::task_arguments_t<fn_t>;
      constexpr bool count_fits = std::tuple_size_v<params> == sizeof...(Args);
      static_assert(count_fits, "cluster_pool::submit: the number of arguments differs from the task's parameters");
      if constexpr (count_fits) {
        constexpr bool types_fit = proc::lowlevel::arguments_fit_v<params, Args...>;
        static_assert(types_fit, "cluster_pool::submit: an argument cannot be converted to the task's parameter type");
        if constexpr (types_fit) {
          using R = proc::lowlevel::task_result_t<F>;
          const fn_t function = fn;
          if (local_) return local_->submit_for(timeout, function, std::forward<Args>(args)...);
          auto job = std::make_unique<proc::lowlevel::promised_job<R>>(
              proc::lowlevel::encode_call(function, std::forward<Args>(args)...));
          job->timeout = timeout;
          exec::future<R> f = job->take_future();
          enqueue(std::move(job));
          return f;
        }
      }
    }
    return {};  // not reached: a static_assert above failed
  }

  /// `fn` over every element of `items`, results in input order (Python's `Pool.map`), in
  /// chunks of `chunksize` items (one message and one future per chunk: use larger chunks for
  /// small tasks). If calls throw, the first failing element's exception is rethrown after every
  /// chunk finished.
  template <class R, class P, class Range>
  std::vector<R> map(R (*fn)(P), const Range& items, std::size_t chunksize = 1) {
    static_assert(!std::is_void_v<R>, "map needs a task that returns a value");
    if (local_) return local_->map(fn, items, chunksize);
    if (chunksize == 0) chunksize = 1;
    std::vector<exec::future<std::vector<R>>> futures;
    std::vector<std::unique_ptr<proc::lowlevel::job>> batch;
    const auto count = static_cast<std::size_t>(std::distance(std::begin(items), std::end(items)));
    auto it = std::begin(items);
    for (std::size_t done = 0; done < count;) {
      const std::size_t n = std::min(chunksize, count - done);
      auto job = make_chunk_job(fn, it, n);
      futures.push_back(job->take_future());
      batch.push_back(std::move(job));
      std::advance(it, n);
      done += n;
    }
    enqueue_all(std::move(batch));
    auto chunks = exec::when_all(std::move(futures)).get();
    std::vector<R> out;
    out.reserve(count);
    for (auto& c : chunks) {
      for (auto& r : c) out.push_back(std::move(r));
    }
    return out;
  }

  /// Ordered, streaming `map` (Python's `Pool.imap`); at most a window of chunks in flight.
  template <class R, class P, class Range>
  proc::ordered_results<R> imap(R (*fn)(P), const Range& items, std::size_t chunksize = 1) {
    if (local_) return local_->imap(fn, items, chunksize);
    if (chunksize == 0) chunksize = 1;
    auto copy = std::make_shared<std::vector<std::decay_t<P>>>(std::begin(items), std::end(items));
    const std::size_t count = copy->size();
    return proc::ordered_results<R>(
        [this, fn, copy](std::size_t first, std::size_t n) { return submit_chunk(fn, copy->begin() + first, n); },
        count, chunksize, window());
  }

  /// Like `imap`, in completion order (Python's `Pool.imap_unordered`).
  template <class R, class P, class Range>
  proc::unordered_results<R> imap_unordered(R (*fn)(P), const Range& items, std::size_t chunksize = 1) {
    if (local_) return local_->imap_unordered(fn, items, chunksize);
    if (chunksize == 0) chunksize = 1;
    auto copy = std::make_shared<std::vector<std::decay_t<P>>>(std::begin(items), std::end(items));
    const std::size_t count = copy->size();
    return proc::unordered_results<R>(
        [this, fn, copy](std::size_t first, std::size_t n) { return submit_chunk(fn, copy->begin() + first, n); },
        count, chunksize, window());
  }

  /// Graceful stop; see the class comment. Idempotent.
  void shutdown(shutdown_mode mode = shutdown_mode::wait);
  /// Immediate stop; see the class comment.
  void terminate();

  /// Workers in all: the worker ranks' executors together, or the local pool's workers alone.
  [[nodiscard]] std::size_t size() const noexcept;
  /// Whether the tasks run on MPI ranks (false: alone, on a local process pool).
  [[nodiscard]] bool distributed() const noexcept { return local_ == nullptr; }
  [[nodiscard]] cluster_pool_statistics statistics() const;

 private:
  struct impl;

  template <class R, class P, class It>
  static std::unique_ptr<proc::lowlevel::promised_job<std::vector<R>>> make_chunk_job(R (*fn)(P), It first,
                                                                                      std::size_t n) {
    return std::make_unique<proc::lowlevel::promised_job<std::vector<R>>>(proc::lowlevel::encode_chunk(fn, first, n));
  }
  template <class R, class P, class It>
  exec::future<std::vector<R>> submit_chunk(R (*fn)(P), It first, std::size_t n) {
    auto job = make_chunk_job(fn, first, n);
    auto f = job->take_future();
    enqueue(std::move(job));
    return f;
  }

  void enqueue(std::unique_ptr<proc::lowlevel::job> job);
  void enqueue_all(std::vector<std::unique_ptr<proc::lowlevel::job>> jobs);
  [[nodiscard]] std::size_t window() const noexcept;
  [[nodiscard]] std::chrono::milliseconds options_timeout() const noexcept;

  std::unique_ptr<proc::process_pool> local_;  ///< Alone only.
  std::unique_ptr<impl> impl_;                 ///< Under mpirun only.
};

}  // namespace trident::cluster
