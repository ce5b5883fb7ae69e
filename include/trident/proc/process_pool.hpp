#pragma once
/// @file
/// `process_pool`: a pool of worker processes that run registered tasks (Python's
/// `multiprocessing.Pool` and `ProcessPoolExecutor`), with crash isolation.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <iosfwd>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "trident/core/shutdown_mode.hpp"
#include "trident/exec/as_completed.hpp"
#include "trident/exec/completion_queue.hpp"
#include "trident/exec/future.hpp"
#include "trident/exec/thread_pool.hpp"
#include "trident/exec/when_all.hpp"
#include "trident/proc/codec.hpp"
#include "trident/proc/detail/pool_job.hpp"
#include "trident/proc/errors.hpp"
#include "trident/proc/map_results.hpp"
#include "trident/proc/task_registry.hpp"

namespace trident::proc {

/// How a `process_pool` is set up.
struct process_pool_options {
  std::size_t workers = default_worker_count();
  /// A worker exits and is replaced after this many tasks (0: never), as in Python's
  /// `maxtasksperchild`: a cure for leaks in native code.
  std::size_t max_tasks_per_child = 0;
  /// Address-space limit of each worker in bytes (RLIMIT_AS; 0: none). A task that allocates
  /// past it fails with `remote_error` of type `std::bad_alloc`. Not usable with sanitizer builds,
  /// which reserve terabytes of address space.
  std::size_t memory_limit_bytes = 0;
  /// Default per-task timeout (0: none). A task running longer has its worker killed and fails
  /// with `task_timeout_error`; the pool starts a replacement.
  std::chrono::milliseconds task_timeout{0};
  /// How long a starting worker may take to say hello before the pool gives up on it.
  std::chrono::milliseconds start_timeout{10000};
  /// Environment variables the workers do not inherit: every variable whose name starts with
  /// one of these prefixes is left out of their environment (the cluster layer withholds the
  /// MPI launcher's `OMPI_` and `PMIX_`, so that a worker never takes itself for an MPI rank).
  std::vector<std::string> withheld_environment{};
  /// Bytes of shared memory that large task arguments (64 KiB or more encoded) are encoded
  /// straight into, mapped once by the pool and each worker (docs/proc.md, "Large arguments");
  /// made when the first such argument is sent, and resident up to the most used at once while
  /// the pool lives. An argument larger than half of it, or one that finds it full for 20 ms,
  /// goes in a memfd of its own. 0: no arena, every large argument goes in a memfd. Each worker
  /// maps all of it, so with `memory_limit_bytes` set the pool makes one only if it is at most
  /// an eighth of that limit.
  std::size_t payload_arena_bytes = std::size_t{32} << 20;

  /// The number of hardware threads (at least 1).
  static std::size_t default_worker_count() noexcept;
};

namespace detail {

/// Whether `F` is (a reference to) a plain function or function pointer: what can be a task.
template <class F>
inline constexpr bool is_task_function_v =
    std::is_pointer_v<std::decay_t<F>> && std::is_function_v<std::remove_pointer_t<std::decay_t<F>>>;

template <class F, bool = is_task_function_v<F>>
struct task_result {
  using type = void;  // not a task: `submit` stops at its static_assert
};
template <class F>
struct task_result<F, true> {
  using type = typename fn_traits<std::decay_t<F>>::result;
};
/// What `submit(fn, ...)` returns a future of.
template <class F>
using task_result_t = typename task_result<F>::type;

/// Whether arguments `Args` can initialise the parameters `std::tuple<P...>` one by one.
template <class Params, class... Args>
struct arguments_fit : std::false_type {};
template <class... P, class... Args>
  requires(sizeof...(P) == sizeof...(Args))
struct arguments_fit<std::tuple<P...>, Args...> : std::bool_constant<(std::is_constructible_v<P, Args&&> && ...)> {};

}  // namespace detail

/// A snapshot of a pool's counters, taken at one instant.
///
/// Every task submitted (a `map` chunk counts as one) is in exactly one of five buckets, and a
/// snapshot is consistent, so at every instant, not only when the pool is idle:
/// - `submitted == queued + in_flight + completed + crashed + cancelled`;
/// - `queued` and `in_flight` never wrap below zero; `submitted`, `completed`, `crashed`,
///   `cancelled` and `started` never decrease;
/// - a task is counted in `completed`, `crashed` or `cancelled` before its future becomes ready,
///   except one cancelled through its future while queued: it moves to `cancelled` when the I/O
///   thread drops it, soon after;
/// - when a worker dies, its task that was running counts in `crashed`, and the tasks sent
///   behind it go back to `queued` (they run on another worker);
/// - once `shutdown()` or `terminate()` returned: `queued == 0`, `in_flight == 0`, no
///   `worker_pids`, and the counters no longer change.
struct process_pool_statistics {
  std::size_t workers = 0;    ///< Worker processes the pool keeps running.
  std::size_t submitted = 0;  ///< Tasks accepted by `submit` and friends.
  std::size_t queued = 0;     ///< Submitted, not yet sent to a worker.
  std::size_t in_flight = 0;  ///< Sent to a worker, result not back yet.
  std::size_t completed = 0;  ///< Finished with a value or an exception (`remote_error`).
  std::size_t crashed = 0;    ///< Failed because their worker died or ran past the task's timeout.
  std::size_t cancelled = 0;  ///< Never ran: cancelled, or dropped by a shutdown or start failure.
  std::size_t started = 0;    ///< Worker processes started, replacements included.
  std::vector<int> worker_pids;
};

std::ostream& operator<<(std::ostream& out, const process_pool_statistics& s);

/// A fixed number of worker processes running tasks registered with `TRIDENT_TASK`.
///
/// Workers are the program's own binary in worker mode (so `main` must call `worker_main` first;
/// see worker_main.hpp): forks of a fork server that re-executed the binary once, never forks of
/// the calling process (docs/proc.md). Tasks and results cross as cereal-encoded frames in two
/// shared-memory rings per worker (no system call per task while both sides are awake), large
/// ones (64 KiB and up) as a memfd on the worker's Unix socket; one I/O thread per pool, driven
/// by epoll, feeds all workers and completes the futures. A lone `submit` to a pool with an
/// idle worker goes straight into that worker's ring from the caller's thread.
///
/// @par Crash isolation
/// A worker that dies while running a task (segfault, abort, killed from outside, out of memory)
/// or runs past the task's timeout fails that task's future only, with `worker_crashed_error`
/// naming the signal (or `task_timeout_error`); tasks queued behind it go to other workers, and a
/// replacement worker starts. The pool never becomes unusable (unlike Python's
/// `BrokenProcessPool`), except when workers cannot start at all (`worker_start_error`).
///
/// @par Exceptions
/// An exception thrown by a task comes back as `remote_error` with the original type name and
/// message.
///
/// @par Cancellation
/// `future::cancel()` removes a task that was not yet sent to a worker. A task counts as
/// started once it is sent: when the queue is long, the pool sends each worker a few tasks ahead
/// (pipelining), and those run. A started task is not interrupted (give it a timeout for that).
///
/// @par Shutdown
/// 1. `shutdown()` (graceful, Python's `close(); join()`): no new work is accepted (`submit`
///    throws `shutdown_error`), queued tasks still run, then each worker is told to exit and is
///    reaped. With `shutdown_mode::cancel_pending`, queued tasks are cancelled instead.
/// 2. `terminate()` (immediate): workers are SIGKILLed and reaped; queued and running tasks fail
///    with `cancelled_error`.
/// 3. The destructor does `shutdown()`. No worker outlives the pool, and none outlives the
///    parent: workers are SIGKILLed by the kernel if the parent dies, even by SIGKILL. It never
///    throws: destroyed where it cannot join the I/O thread (on that thread itself, from a
///    continuation), it writes why on stderr and calls std::terminate, since the thread would
///    otherwise run on in freed state.
///
/// @par Thread safety
/// Every member function may be called from any thread, concurrently, except `shutdown`,
/// `terminate` and the destructor from inside a continuation that runs on the pool's own I/O
/// thread (they would join it: `shutdown` and `terminate` throw std::logic_error there, and the
/// destructor ends the program, see "Shutdown").
///
/// @code
///   int square(int x) { return x * x; }
///   TRIDENT_TASK(square);
///   ...
///   trident::proc::process_pool pool(4);
///   trident::exec::future<int> f = pool.submit(square, 7);
///   std::vector<int> all = pool.map(square, std::vector{1, 2, 3});
/// @endcode
class process_pool {
 public:
  /// Starts `workers` worker processes and waits until each has answered its handshake.
  /// Throws `worker_start_error` if they cannot start (for instance when `main` does not call
  /// `worker_main`), std::invalid_argument for 0 workers.
  explicit process_pool(std::size_t workers = process_pool_options::default_worker_count());
  explicit process_pool(process_pool_options options);
  process_pool(const process_pool&) = delete;
  process_pool& operator=(const process_pool&) = delete;
  ~process_pool();

  /// Runs `fn(args...)` in a worker; `fn` must be a function registered with `TRIDENT_TASK`
  /// (`unregistered_task_error` otherwise). A lambda or other callable object does not compile:
  /// code cannot cross a process boundary, only a name can (as with Python's pickle). Arguments
  /// are encoded at once, so the caller may change or destroy them afterwards. Throws
  /// `shutdown_error` after shutdown.
  template <class F, class... Args>
  exec::future<detail::task_result_t<F>> submit(F&& fn, Args&&... args) {
    return submit_for(std::chrono::milliseconds(0), std::forward<F>(fn), std::forward<Args>(args)...);
  }

  /// Like `submit`, with a per-task `timeout` (0: the pool's default).
  template <class F, class... Args>
  exec::future<detail::task_result_t<F>> submit_for(std::chrono::milliseconds timeout, F&& fn, Args&&... args) {
    // Checked here, each with one clear message, and nothing instantiated past a failed check:
    // otherwise a lambda or a wrong argument list ends in hundreds of lines from deep inside
    // std::tuple and cereal.
    constexpr bool is_function = detail::is_task_function_v<F>;
    static_assert(is_function,
                  "process_pool::submit needs a named function registered with TRIDENT_TASK(name) at namespace "
                  "scope; a lambda or other callable object cannot cross a process boundary (as with Python's "
                  "pickle): move its body into a function and register that");
    if constexpr (is_function) {
      using fn_t = std::decay_t<F>;
      using params = typename detail::fn_traits<fn_t>::args;
      constexpr bool count_fits = std::tuple_size_v<params> == sizeof...(Args);
      static_assert(count_fits, "process_pool::submit: the number of arguments differs from the task's parameters");
      if constexpr (count_fits) {
        constexpr bool types_fit = detail::arguments_fit<params, Args...>::value;
        static_assert(types_fit, "process_pool::submit: an argument cannot be converted to the task's parameter type");
        if constexpr (types_fit) {
          auto job = make_job(static_cast<fn_t>(fn), std::forward<Args>(args)...);
          job->timeout = timeout;
          exec::future<detail::task_result_t<F>> f = job->take_future();
          enqueue(std::move(job));
          return f;
        }
      }
    }
    return {};  // not reached: a static_assert above failed
  }

  /// The `chunksize` argument of `map`, `imap` and `imap_unordered` that asks the pool to choose
  /// (`chunksize_for`); it is their default.
  static constexpr std::size_t auto_chunksize = 0;

  /// The chunk size `map` (`per_worker` 4) and `imap`/`imap_unordered` (16) choose for `items`
  /// elements when given `auto_chunksize`: as many elements as make `per_worker` chunks per
  /// worker, at least 1. Python's `Pool.map` divides the same way (4 chunks per worker): with
  /// small tasks the cost per message dominates (about 1 µs per task here, against
  /// under 0.1 µs per element in a chunk), and 4 chunks per worker still even out tasks of
  /// unequal length. The streaming forms take smaller chunks so that results start to flow
  /// sooner. An input of at most `per_worker` × workers elements goes one element per task.
  /// Thread-safe.
  [[nodiscard]] std::size_t chunksize_for(std::size_t items, std::size_t per_worker) const noexcept {
    const std::size_t chunks = per_worker * size();
    return chunks == 0 ? 1 : std::max<std::size_t>(1, (items + chunks - 1) / chunks);
  }

  /// Applies `fn` to every element of `items` in workers and returns the results in input order
  /// (Python's `Pool.map`). Items go in chunks of `chunksize` (one frame and one future per
  /// chunk), chosen by `chunksize_for(n, 4)` by default; 1 sends one task per element. If
  /// calls throw, the first failing element's exception (in input order) is rethrown after
  /// every chunk finished; a worker's crash fails the elements of its chunk.
  template <class R, class P, class Range>
  std::vector<R> map(R (*fn)(P), const Range& items, std::size_t chunksize = auto_chunksize) {
    static_assert(!std::is_void_v<R>, "map needs a task that returns a value");
    if (chunksize == auto_chunksize) {
      chunksize = chunksize_for(static_cast<std::size_t>(std::distance(std::begin(items), std::end(items))), 4);
    }
    // One wake-up for the caller when the last result is in (when_all), not one per item.
    if (chunksize <= 1) {
      std::vector<exec::future<R>> futures;
      std::vector<std::unique_ptr<detail::pool_job>> batch;
      std::size_t batch_bytes = 0;
      for (const auto& item : items) {
        auto job = make_job(fn, item);
        futures.push_back(job->take_future());
        batch_bytes += job->payload_size;
        batch.push_back(std::move(job));
        // Large items: hand them over a megabyte at a time, so the workers start while the
        // rest is still being encoded.
        if (batch_bytes >= (std::size_t{1} << 20)) {
          enqueue_all(std::move(batch));
          batch.clear();
          batch_bytes = 0;
        }
      }
      enqueue_all(std::move(batch));
      return exec::when_all(std::move(futures)).get();
    }
    auto chunks = exec::when_all(submit_chunks(fn, items, chunksize)).get();
    std::vector<R> out;
    for (auto& c : chunks) {
      for (auto& r : c) out.push_back(std::move(r));
    }
    return out;
  }

  /// Ordered, streaming `map` (Python's `Pool.imap`): a single-pass range whose elements are the
  /// results in input order, each available as soon as it and those before it are done. At most
  /// a window of chunks is in flight, so a long input never floods the pool. Chunks of
  /// `chunksize_for(n, 16)` elements by default.
  template <class R, class P, class Range>
  ordered_results<R> imap(R (*fn)(P), const Range& items, std::size_t chunksize = auto_chunksize);

  /// Like `imap`, but results come in completion order (Python's `Pool.imap_unordered`).
  template <class R, class P, class Range>
  unordered_results<R> imap_unordered(R (*fn)(P), const Range& items, std::size_t chunksize = auto_chunksize);

  /// Graceful stop; see the class comment. Idempotent; waits until every worker is reaped.
  void shutdown(shutdown_mode mode = shutdown_mode::wait);

  /// Immediate stop: kills the workers; see the class comment. Waits until they are reaped.
  void terminate();

  /// The number of worker processes.
  [[nodiscard]] std::size_t size() const noexcept;

  [[nodiscard]] process_pool_statistics statistics() const;

  friend std::ostream& operator<<(std::ostream& out, const process_pool& pool);

  /// For Trident's own layers: queues a job built by a typed front end.
  void enqueue(std::unique_ptr<detail::pool_job> job);
  void enqueue_all(std::vector<std::unique_ptr<detail::pool_job>> jobs);
  /// The shared memory large arguments are encoded into (null if `payload_arena_bytes` is 0).
  [[nodiscard]] detail::payload_arena* payload_arena() const noexcept;

  /// One chunk of `fn` over `items[first, first + n)` as a job.
  template <class R, class P, class It>
  exec::future<std::vector<R>> submit_chunk(R (*fn)(P), It first, std::size_t n,
                                            std::vector<std::unique_ptr<detail::pool_job>>* batch = nullptr) {
    using arg_t = std::tuple<std::decay_t<P>>;
    std::vector<arg_t> args;
    args.reserve(n);
    for (std::size_t i = 0; i < n; ++i, ++first) args.emplace_back(*first);
    auto job = std::make_unique<detail::typed_job<std::vector<R>>>();
    job->kind = lowlevel::call_kind::chunk;
    job->calls = n;
    job->task_name = detail::task_name_of(reinterpret_cast<detail::any_fn>(fn));
    detail::begin_payload(job->payload, job->task_name);
    detail::encode_task_arguments(*job, payload_arena(), args);
    auto f = job->take_future();
    if (batch != nullptr) {
      batch->push_back(std::move(job));
    } else {
      enqueue(std::move(job));
    }
    return f;
  }

 private:
  struct impl;

  /// A job running `fn(args...)`, its arguments encoded, large ones into shared memory. The
  /// arguments are encoded one by one, which makes the same bytes as their tuple, so that an
  /// argument that already has its parameter's type is encoded without a copy of it first.
  template <class R, class... P, class... Args>
  std::unique_ptr<detail::typed_job<R>> make_job(R (*fn)(P...), Args&&... args) {
    static_assert(sizeof...(P) == sizeof...(Args), "submit: wrong number of arguments for the task");
    auto job = std::make_unique<detail::typed_job<R>>();
    job->task_name = detail::task_name_of(reinterpret_cast<detail::any_fn>(fn));
    detail::begin_payload(job->payload, job->task_name);
    if constexpr (sizeof...(P) == 0) {
      detail::encode_task_arguments(*job, nullptr, std::tuple<>());
    } else {
      detail::encode_task_arguments(*job, payload_arena(),
                                    detail::as_parameter<std::decay_t<P>>(std::forward<Args>(args))...);
    }
    return job;
  }

  template <class R, class P, class Range>
  std::vector<exec::future<std::vector<R>>> submit_chunks(R (*fn)(P), const Range& items, std::size_t chunksize) {
    if (chunksize == 0) chunksize = 1;
    std::vector<exec::future<std::vector<R>>> futures;
    std::vector<std::unique_ptr<detail::pool_job>> batch;
    const auto count = static_cast<std::size_t>(std::distance(std::begin(items), std::end(items)));
    futures.reserve(count / chunksize + 1);
    batch.reserve(count / chunksize + 1);
    auto it = std::begin(items);
    for (std::size_t done = 0; done < count;) {
      const std::size_t n = std::min(chunksize, count - done);
      futures.push_back(submit_chunk(fn, it, n, &batch));
      std::advance(it, n);
      done += n;
    }
    enqueue_all(std::move(batch));
    return futures;
  }

  std::unique_ptr<impl> impl_;
};

template <class R, class P, class Range>
ordered_results<R> process_pool::imap(R (*fn)(P), const Range& items, std::size_t chunksize) {
  auto copy = std::make_shared<std::vector<std::decay_t<P>>>(std::begin(items), std::end(items));
  const std::size_t count = copy->size();
  if (chunksize == auto_chunksize) chunksize = chunksize_for(count, 16);
  return ordered_results<R>(
      [this, fn, copy](std::size_t first, std::size_t n) { return submit_chunk(fn, copy->begin() + first, n); }, count,
      chunksize, 4 * size());
}

template <class R, class P, class Range>
unordered_results<R> process_pool::imap_unordered(R (*fn)(P), const Range& items, std::size_t chunksize) {
  auto copy = std::make_shared<std::vector<std::decay_t<P>>>(std::begin(items), std::end(items));
  const std::size_t count = copy->size();
  if (chunksize == auto_chunksize) chunksize = chunksize_for(count, 16);
  return unordered_results<R>(
      [this, fn, copy](std::size_t first, std::size_t n) { return submit_chunk(fn, copy->begin() + first, n); }, count,
      chunksize, 4 * size());
}

}  // namespace trident::proc
