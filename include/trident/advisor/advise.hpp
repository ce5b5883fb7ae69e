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
  /// (I/O-bound) and the pools get more workers than cores.
  double io_bound_below = 0.5;
  /// Run the process-pool model when the work is a registered task (`TRIDENT_TASK`).
  bool processes = true;
};

/// One model's measured run of the sample.
struct measured_model {
  std::string model;   ///< "sequential", "threads_8", "processes_2", "async_to_thread_8".
  std::string family;  ///< "sequential", "threads", "processes", "async".
  std::size_t workers = 1;
  usage cost;
  bool ok = false;
  std::string error;  ///< Why not ok: an exception, or results that differ from sequential's.
};

/// The advisor's answer.
struct advice {
  std::string family;  ///< The recommended family: "sequential", "threads", "processes" or "async".
  std::string model;   ///< The recommended model's name, e.g. "threads_2".
  std::size_t workers = 1;
  std::string reason;  ///< One line with figures (see `recommendation::reason`).
  double cpu_per_wall = 0;        ///< Of the sequential run: ~1 CPU-bound, ~0 waiting.
  double seconds_per_item = 0;    ///< Of the sequential run.
  double process_start_seconds = 0;  ///< Starting and stopping an empty process pool; 0 when not run.
  std::vector<measured_model> runs;
};

namespace advise_detail {

template <class F>
inline constexpr bool is_plain_function_v =
    std::is_pointer_v<std::decay_t<F>> && std::is_function_v<std::remove_pointer_t<std::decay_t<F>>>;

/// Runs `body` (which fills `results`) under `measure`, and checks the results against
/// `reference` when R can be compared.
template <class R>
measured_model run_model(std::string model, std::string family, std::size_t workers,
                         const std::function<std::vector<R>()>& body, const std::vector<R>* reference) {
  measured_model out{std::move(model), std::move(family), workers, {}, false, {}};
  std::vector<R> results;
  try {
    out.cost = measure([&] { results = body(); });
    out.ok = true;
  } catch (const std::exception& e) {
    out.error = e.what();
    return out;
  }
  if constexpr (std::equality_comparable<R>) {
    if (reference != nullptr && results != *reference) {
      out.ok = false;
      out.error = "its results differ from the sequential run's";
    }
  }
  return out;
}

/// The advice from measured runs (advise.cpp): applies `recommend` and fills the summary.
advice conclude(std::vector<measured_model> runs, std::size_t items, double process_start_seconds);

}  // namespace advise_detail

/// Runs `fn` over `samples` under each model and recommends one (see the file comment).
/// `fn` is called as `fn(sample)` and must return a value; the process model runs only when
/// `fn` is a plain function registered with `TRIDENT_TASK` (and the program calls
/// `proc::worker_main`), else it is skipped.
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
  const std::size_t cores = options.cores > 0 ? options.cores : thread_pool_options::default_worker_count();
  std::vector<measured_model> runs;

  std::vector<R> reference;
  runs.push_back(advise_detail::run_model<R>(
      "sequential", "sequential", 1,
      [&] {
        std::vector<R> out;
        out.reserve(samples.size());
        for (const T& sample : samples) out.push_back(fn(sample));
        reference = out;
        return out;
      },
      nullptr));
  const double ratio = runs.front().cost.cpu_per_wall();
  // Waiting work gets more workers than cores: enough that the cores would be busy.
  std::size_t workers = cores;
  if (ratio < options.io_bound_below) {
    const double wanted = std::ceil(static_cast<double>(cores) / std::max(ratio, 0.01));
    workers = static_cast<std::size_t>(std::min<double>(wanted, static_cast<double>(options.max_io_workers)));
  }
  workers = std::clamp<std::size_t>(workers, 1, std::max<std::size_t>(1, samples.size()));
  const std::vector<R>* check = runs.front().ok ? &reference : nullptr;

  runs.push_back(advise_detail::run_model<R>(
      "threads_" + std::to_string(workers), "threads", workers,
      [&] {
        thread_pool pool(workers);
        std::vector<future<R>> futures;
        futures.reserve(samples.size());
        for (const T& sample : samples) futures.push_back(pool.submit([&fn, &sample] { return fn(sample); }));
        std::vector<R> out;
        out.reserve(futures.size());
        for (auto& f : futures) out.push_back(f.get());
        return out;
      },
      check));

  double process_start_seconds = 0;
  if constexpr (advise_detail::is_plain_function_v<F>) {
    if (options.processes) {
      const std::size_t process_workers = std::min(cores, std::max<std::size_t>(1, samples.size()));
      try {
        process_start_seconds = measure([&] { proc::process_pool empty(process_workers); }).wall_seconds;
      } catch (const std::exception&) {
        process_start_seconds = 0;  // the model below reports why
      }
      runs.push_back(advise_detail::run_model<R>(
          "processes_" + std::to_string(process_workers), "processes", process_workers,
          [&] {
            proc::process_pool pool(process_workers);
            std::vector<future<R>> futures;
            futures.reserve(samples.size());
            for (const T& sample : samples) futures.push_back(pool.submit(fn, sample));
            std::vector<R> out;
            out.reserve(futures.size());
            for (auto& f : futures) out.push_back(f.get());
            return out;
          },
          check));
    }
  }

  runs.push_back(advise_detail::run_model<R>(
      "async_to_thread_" + std::to_string(workers), "async", workers,
      [&] {
        thread_pool pool(workers);
        auto main = [&]() -> aio::task<std::vector<R>> {
          std::vector<aio::task<R>> calls;
          calls.reserve(samples.size());
          for (const T& sample : samples) {
            calls.push_back([](thread_pool& p, F& f, const T& s) -> aio::task<R> {
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
      check));

  return advise_detail::conclude(std::move(runs), samples.size(), process_start_seconds);
}

}  // namespace trident::advisor
