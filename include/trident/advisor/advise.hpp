#pragma once
/// @file
/// `advisor::advise`: which model should run this work? It runs a sample of the work under each
/// model — one after another, sequentially; on a thread pool; in a process pool (when the work
/// is a registered task); from an event loop through a thread pool (asyncio's `to_thread`) —
/// measures each (`measure.hpp`), checks that they computed the same results, and applies the
/// advisor's rule (`recommend.hpp`). The figures come back with the choice, so the reason is
/// visible, not asserted.
///
/// @code
///   int count_primes(int from);   // CPU-bound
///   TRIDENT_TASK(count_primes);
///   auto advice = trident::advisor::advise(count_primes, std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8});
///   std::puts(advice.reason.c_str());   // e.g. "threads_2: 8 items in 0.52 s with …"
/// @endcode
///
/// The sample should be a few items of the real input (a handful to a few dozen): each model runs
/// it all, so the call takes a few times the sequential time of the sample.

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "trident/advisor/measure.hpp"
#include "trident/advisor/recommend.hpp"
#include "trident/aio/event_loop.hpp"
#include "trident/aio/gather.hpp"
#include "trident/aio/run.hpp"
#include "trident/aio/run_in.hpp"
#include "trident/aio/task.hpp"
#include "trident/exec/future.hpp"
#include "trident/exec/thread_pool.hpp"
#include "trident/proc/process_pool.hpp"

namespace trident::advisor {

struct advise_options {
  /// Cores to plan for: the worker count of CPU-bound models. 0: the hardware threads.
  std::size_t cores = 0;
  /// The most threads an I/O-bound model may get (never more than the sample's size).
  std::size_t max_io_workers = 256;
  /// Below this CPU/wall ratio (measured on the sequential run) the work counts as waiting
  /// (I/O-bound) and the pools get more workers than cores; at or above it the work is CPU-bound
  /// and the async model is measured but never advised (its `excluded` says why).
  double io_bound_below = 0.5;
  /// Run the process-pool model when the work is a registered task (`TRIDENT_TASK`).
  bool processes = true;
  /// Runs of the sample per model: the sequential runs first, then the other models take turns
  /// round by round, so that a slow moment of the machine falls on all of them. Each model is
  /// judged on its median run, and models whose ranges overlap tie (recommend.hpp). At least 1.
  std::size_t repeat = 3;
};

/// One model's measured runs of the sample.
struct measured_model {
  std::string model;   ///< "sequential", "threads_8", "processes_2", "async_to_thread_8".
  std::string family;  ///< "sequential", "threads", "processes", "async".
  std::size_t workers = 1;
  usage cost;            ///< The median run by wall time.
  double wall_min = 0;   ///< Fastest of the runs (0 until a run finished).
  double wall_max = 0;   ///< Slowest of the runs.
  std::size_t runs = 0;  ///< Runs that finished.
  bool ok = false;
  std::string error;  ///< Why not ok: an exception, or results that differ from sequential's.
  /// Non-empty: measured, but never advised, for this reason (e.g. async for CPU-bound work).
  std::string excluded;
};

/// The advisor's answer.
struct advice {
  std::string family;  ///< The recommended family: "sequential", "threads", "processes" or "async".
  std::string model;   ///< The recommended model's name, e.g. "threads_2".
  std::size_t workers = 1;
  /// Sentences with figures (see `recommendation::reason`), then the sample's per-item cost.
  std::string reason;
  pick_basis basis = pick_basis::fastest;  ///< Why the model won: fastest, lighter or simpler.
  std::vector<std::string> ties;           ///< The models that tie with the fastest, the advised one left out.
  /// Models not run, and why, e.g. "processes: not run: count_primes is not registered with
  /// TRIDENT_TASK, so no worker process can call it".
  std::vector<std::string> notes;
  double cpu_per_wall = 0;           ///< Of the sequential run: ~1 CPU-bound, ~0 waiting.
  double seconds_per_item = 0;       ///< Of the sequential run.
  double process_start_seconds = 0;  ///< Starting and stopping an empty process pool; 0 when not run.
  std::vector<measured_model> runs;
};

namespace advise_detail {

template <class F>
inline constexpr bool is_plain_function_v =
    std::is_pointer_v<std::decay_t<F>> && std::is_function_v<std::remove_pointer_t<std::decay_t<F>>>;

/// A model to measure: what the table shows, and the body that runs the whole sample once.
template <class R>
struct planned_model {
  measured_model shown;
  std::function<std::vector<R>()> body;
  std::vector<usage> costs;
};

/// Runs `m` once under `measure`, unless it already failed; checks the results against
/// `reference` when R can be compared (and stores them there when it is empty).
template <class R>
void run_once(planned_model<R>& m, std::vector<R>& reference, bool is_reference) {
  if (!m.shown.error.empty()) return;
  std::vector<R> results;
  try {
    m.costs.push_back(measure([&] { results = m.body(); }));
  } catch (const std::exception& e) {
    m.shown.error = e.what();
    return;
  }
  if (is_reference && reference.empty()) {
    reference = std::move(results);
    return;
  }
  if constexpr (std::equality_comparable<R>) {
    if (results != reference) {
      m.shown.error =
          is_reference ? "its repeated runs gave different results" : "its results differ from the sequential run's";
    }
  }
}

/// The median run and the range of `m`'s runs, into `m.shown`.
template <class R>
measured_model summarise(planned_model<R>& m) {
  measured_model out = std::move(m.shown);
  out.runs = m.costs.size();
  out.ok = out.error.empty() && !m.costs.empty();
  if (m.costs.empty()) return out;
  std::sort(m.costs.begin(), m.costs.end(),
            [](const usage& a, const usage& b) { return a.wall_seconds < b.wall_seconds; });
  out.cost = m.costs[m.costs.size() / 2];
  out.wall_min = m.costs.front().wall_seconds;
  out.wall_max = m.costs.back().wall_seconds;
  return out;
}

/// Why the async model is never advised for work with this CPU/wall ratio (advise.cpp).
std::string async_exclusion(double cpu_per_wall);

/// The advice from measured runs (advise.cpp): applies `recommend` and fills the summary.
advice conclude(std::vector<measured_model> runs, std::size_t items, double process_start_seconds,
                std::vector<std::string> notes = {});

}  // namespace advise_detail

/// Runs `fn` over `samples` under each model and recommends one (see the file comment).
/// `fn` is called as `fn(sample)` and must return a value. The process model runs only when
/// `fn` is a plain function registered with `TRIDENT_TASK` (and the program calls
/// `proc::worker_main`); otherwise it is not run and `advice::notes` says why.
///
/// @par Thread safety
/// Calls `fn` from several threads at once (the thread models), so `fn` must be safe for that.
/// Measures CPU time of the whole process: do not run other heavy work meanwhile.
///
/// @par Cancellation
/// None: it runs to the end. Exceptions from `fn` mark that model as failed, not the call.
template <class F, class T>
advice advise(F&& fn, const std::vector<T>& samples, const advise_options& options = {}) {
  using R = std::decay_t<std::invoke_result_t<F&, const T&>>;
  static_assert(!std::is_void_v<R>, "advise needs work that returns a value (to check every model computed the same)");
  const std::size_t cores = options.cores > 0 ? options.cores : exec::thread_pool_options::default_worker_count();
  const std::size_t repeat = std::max<std::size_t>(1, options.repeat);
  std::vector<std::string> notes;
  std::vector<R> reference;

  advise_detail::planned_model<R> sequential{{"sequential", "sequential", 1, {}, 0, 0, 0, false, {}, {}},
                                             [&] {
                                               std::vector<R> out;
                                               out.reserve(samples.size());
                                               for (const T& sample : samples) out.push_back(fn(sample));
                                               return out;
                                             },
                                             {}};
  for (std::size_t round = 0; round < repeat; ++round) advise_detail::run_once(sequential, reference, true);
  // The first run's ratio decides the worker counts below.
  const double ratio = sequential.costs.empty() ? 1.0 : sequential.costs.front().cpu_per_wall();
  const bool io_bound = ratio < options.io_bound_below;
  // Waiting work gets more workers than cores: enough that the cores would be busy.
  std::size_t workers = cores;
  if (io_bound) {
    const double wanted = std::ceil(static_cast<double>(cores) / std::max(ratio, 0.01));
    workers = static_cast<std::size_t>(std::min<double>(wanted, static_cast<double>(options.max_io_workers)));
  }
  workers = std::clamp<std::size_t>(workers, 1, std::max<std::size_t>(1, samples.size()));

  std::vector<advise_detail::planned_model<R>> others;
  others.push_back({{"threads_" + std::to_string(workers), "threads", workers, {}, 0, 0, 0, false, {}, {}},
                    [&] {
                      exec::thread_pool pool(workers);
                      std::vector<exec::future<R>> futures;
                      futures.reserve(samples.size());
                      for (const T& sample : samples)
                        futures.push_back(pool.submit([&fn, &sample] { return fn(sample); }));
                      std::vector<R> out;
                      out.reserve(futures.size());
                      for (auto& f : futures) out.push_back(f.get());
                      return out;
                    },
                    {}});

  double process_start_seconds = 0;
  bool run_processes = false;
  if constexpr (advise_detail::is_plain_function_v<F>) {
    if (!options.processes) {
      notes.push_back("processes: not run: turned off (advise_options::processes)");
    } else if (!proc::is_registered_task(fn)) {
      notes.push_back(
          "processes: not run: the function is not registered with TRIDENT_TASK, so no worker process "
          "can call it");
    } else {
      run_processes = true;
    }
  } else {
    notes.push_back(
        "processes: not run: a lambda or function object cannot cross a process boundary (register a "
        "plain function with TRIDENT_TASK)");
  }
  const std::size_t process_workers = std::min(cores, std::max<std::size_t>(1, samples.size()));
  if (run_processes) {
    if constexpr (advise_detail::is_plain_function_v<F>) {
      try {
        process_start_seconds = measure([&] { proc::process_pool empty(process_workers); }).wall_seconds;
      } catch (const std::exception&) {
        process_start_seconds = 0;  // the model below reports why
      }
      others.push_back(
          {{"processes_" + std::to_string(process_workers), "processes", process_workers, {}, 0, 0, 0, false, {}, {}},
           [&] {
             proc::process_pool pool(process_workers);
             std::vector<exec::future<R>> futures;
             futures.reserve(samples.size());
             for (const T& sample : samples) futures.push_back(pool.submit(fn, sample));
             std::vector<R> out;
             out.reserve(futures.size());
             for (auto& f : futures) out.push_back(f.get());
             return out;
           },
           {}});
    }
  }

  const std::string async_excluded = io_bound ? std::string() : advise_detail::async_exclusion(ratio);
  others.push_back(
      {{"async_to_thread_" + std::to_string(workers), "async", workers, {}, 0, 0, 0, false, {}, async_excluded},
       [&] {
         exec::thread_pool pool(workers);
         auto main = [&]() -> aio::task<std::vector<R>> {
           std::vector<aio::task<R>> calls;
           calls.reserve(samples.size());
           for (const T& sample : samples) {
             calls.push_back([](exec::thread_pool& p, F& f, const T& s) -> aio::task<R> {
               auto call = [&f, &s] { return f(s); };  // named: g++ 12 and temporaries in co_await
               R value = co_await aio::run_in(p, call);
               co_return value;
             }(pool, fn, sample));
           }
           std::vector<R> values = co_await aio::gather(std::move(calls));
           co_return values;
         };
         return aio::run(main());
       },
       {}});

  const bool have_reference = sequential.shown.error.empty();
  for (std::size_t round = 0; round < repeat; ++round) {
    for (auto& m : others) {
      if (have_reference) {
        advise_detail::run_once(m, reference, false);
      } else {
        std::vector<R> none;
        advise_detail::run_once(m, none, true);  // nothing to compare with
      }
    }
  }
  std::vector<measured_model> runs;
  runs.push_back(advise_detail::summarise(sequential));
  for (auto& m : others) runs.push_back(advise_detail::summarise(m));
  return advise_detail::conclude(std::move(runs), samples.size(), process_start_seconds, std::move(notes));
}

}  // namespace trident::advisor
