// The `threads` suite of `trident bench`: the same workloads on Trident's thread_pool, on oneTBB,
// on Asio's thread_pool (threads_peer_asio.cpp) and on a plain std::thread pool in this process, and on Python's ThreadPoolExecutor
// (app/bench/compare/threads/threadpool_executor.py, run once per round), in one run.
//
// Method (the shared runner's, runner.hpp)
//   1. Per case, inputs are built once, outside the timings (parallel_sum's 800 MB array).
//   2. Every in-process implementation runs once untimed (allocator and page warm-up, threads
//      started); the Python script warms up in its own process on every run.
//   3. `repeat` rounds follow; each round runs every implementation once, in turn, so a burst of
//      load from other processes on a shared machine hits all of them alike. Between two runs
//      the suite sleeps briefly, so one runtime's spinning workers never steal CPU from the next.
//   4. The median of the rounds is reported, with its range.

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <iostream>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "bench_suites.hpp"
#include "threads_peers.hpp"
#include "report.hpp"
#include "runner.hpp"
#include "trident/exec/parallel_for.hpp"
#include "trident/exec/task_group.hpp"
#include "trident/exec/thread_pool.hpp"

#if defined(TRIDENT_HAVE_TBB)
#include <tbb/blocked_range.h>
#include <tbb/parallel_reduce.h>
#include <tbb/task_group.h>
#endif

#ifndef TRIDENT_BENCH_ASIO
#define TRIDENT_BENCH_ASIO 0
#endif

namespace trident::bench {
namespace {

constexpr std::size_t spawn_count = 1'000'000;
constexpr std::size_t future_count = 200'000;
constexpr int fib_n = 30;
constexpr std::size_t sum_count = 100'000'000;

// ---------------------------------------------------------------------------------------------
// The "std" baseline: hardware_concurrency threads, one queue under one mutex, a condition
// variable, and std::promise for results. What a programmer writes without a library.

class std_pool {
 public:
  explicit std_pool(std::size_t threads) {
    for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
  }
  std_pool(const std_pool&) = delete;
  std_pool& operator=(const std_pool&) = delete;
  ~std_pool() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_all();
    for (auto& t : threads_) t.join();
  }

  template <class F>
  void post(F fn) {
    auto j = std::make_unique<job<F>>(std::move(fn));
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(j));
    }
    ready_.notify_one();
  }

  template <class F>
  auto submit(F fn) -> std::future<decltype(fn())> {
    std::promise<decltype(fn())> p;
    auto f = p.get_future();
    post([fn = std::move(fn), p = std::move(p)]() mutable { p.set_value(fn()); });
    return f;
  }

 private:
  struct job_base {
    virtual ~job_base() = default;
    virtual void run() = 0;
  };
  template <class F>
  struct job final : job_base {
    explicit job(F&& f) : fn(std::move(f)) {}
    void run() override { fn(); }
    F fn;
  };

  void work() {
    for (;;) {
      std::unique_ptr<job_base> j;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        j = std::move(queue_.front());
        queue_.pop_front();
      }
      j->run();
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::unique_ptr<job_base>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// ---------------------------------------------------------------------------------------------
// Workloads. Each function runs one timed iteration and returns the figure in the case's unit.

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(fmt::format("benchmark self-check failed: {}", what));
}

// spawn_empty: tasks/s. The tasks' only work is counting themselves, in a counter of the thread
// that runs them (no cache line shared between threads), so the case measures the runtime, not
// contention on a shared counter; the sum is checked after the wait.
struct alignas(64) per_thread_count {
  std::atomic<std::size_t> n{0};
};
constexpr std::size_t max_counting_threads = 256;
per_thread_count thread_counts[max_counting_threads];
std::atomic<std::size_t> next_count_slot{0};

void count_this_task() noexcept {
  thread_local std::size_t slot = next_count_slot.fetch_add(1) % max_counting_threads;
  auto& c = thread_counts[slot].n;
  c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

std::size_t take_task_count() noexcept {
  std::size_t total = 0;
  for (auto& c : thread_counts) total += c.n.exchange(0);
  return total;
}

double spawn_trident(exec::thread_pool& pool) {
  take_task_count();
  stopwatch clock;
  trident::exec::task_group g(pool);
  for (std::size_t i = 0; i < spawn_count; ++i) g.run([] { count_this_task(); });
  g.wait();
  const double s = clock.seconds();
  check(take_task_count() == spawn_count, "spawn_empty/trident ran every task");
  return static_cast<double>(spawn_count) / s;
}

double spawn_std(std_pool& pool) {
  take_task_count();
  stopwatch clock;
  std::latch done(static_cast<std::ptrdiff_t>(spawn_count));
  for (std::size_t i = 0; i < spawn_count; ++i) {
    pool.post([&done] {
      count_this_task();
      done.count_down();
    });
  }
  done.wait();
  const double s = clock.seconds();
  check(take_task_count() == spawn_count, "spawn_empty/std ran every task");
  return static_cast<double>(spawn_count) / s;
}

// future_int: tasks/s
long long expected_future_sum() {
  long long r = 0;
  for (std::size_t i = 0; i < future_count; ++i) r += static_cast<long long>(i & 1023);
  return r;
}

double future_trident(exec::thread_pool& pool) {
  stopwatch clock;
  std::vector<trident::exec::future<int>> futures;
  futures.reserve(future_count);
  for (std::size_t i = 0; i < future_count; ++i)
    futures.push_back(pool.submit([i] { return static_cast<int>(i & 1023); }));
  long long sum = 0;
  for (auto& f : futures) sum += f.get();
  const double s = clock.seconds();
  check(sum == expected_future_sum(), "future_int/trident sum");
  return static_cast<double>(future_count) / s;
}

double future_std(std_pool& pool) {
  stopwatch clock;
  std::vector<std::future<int>> futures;
  futures.reserve(future_count);
  for (std::size_t i = 0; i < future_count; ++i)
    futures.push_back(pool.submit([i] { return static_cast<int>(i & 1023); }));
  long long sum = 0;
  for (auto& f : futures) sum += f.get();
  const double s = clock.seconds();
  check(sum == expected_future_sum(), "future_int/std sum");
  return static_cast<double>(future_count) / s;
}

// fib30: seconds. Both children of every call are tasks; no cutoff.
int fib_trident_group(exec::thread_pool& pool, int n) {
  if (n < 2) return n;
  int a = 0, b = 0;
  trident::exec::task_group g(pool);
  g.run([&] { a = fib_trident_group(pool, n - 1); });
  g.run([&] { b = fib_trident_group(pool, n - 2); });
  g.wait();
  return a + b;
}

int fib_trident_submit(exec::thread_pool& pool, int n) {
  if (n < 2) return n;
  auto a = pool.submit([&pool, n] { return fib_trident_submit(pool, n - 1); });
  auto b = pool.submit([&pool, n] { return fib_trident_submit(pool, n - 2); });
  return a.get() + b.get();
}

constexpr int fib_expected(int n) { return n < 2 ? n : fib_expected(n - 1) + fib_expected(n - 2); }

template <class Fib>
double fib_trident(exec::thread_pool& pool, Fib fib) {
  stopwatch clock;
  const int v = pool.submit([&pool, fib] { return fib(pool, fib_n); }).get();
  const double s = clock.seconds();
  check(v == fib_expected(fib_n), "fib30/trident value");
  return s;
}

// parallel_sum: seconds. One out-of-line chunk function for every implementation, so no
// implementation's loop is vectorised or unrolled differently from another's. clang has no
// noipa (no inlining, cloning or interprocedural analysis); noinline is its nearest.
#if defined(__clang__)
#define TRIDENT_BENCH_OUT_OF_LINE [[gnu::noinline]]
#else
#define TRIDENT_BENCH_OUT_OF_LINE [[gnu::noipa]]
#endif
TRIDENT_BENCH_OUT_OF_LINE double sum_sqrt(const double* data, std::size_t n) {
  double s = 0;
  for (std::size_t i = 0; i < n; ++i) s += std::sqrt(data[i]);
  return s;
}

void check_sum(double got, double want, const char* what) {
  check(std::abs(got - want) <= 1e-9 * std::abs(want), what);
}

double sum_sequential(const std::vector<double>& data, double want) {
  stopwatch clock;
  const double v = sum_sqrt(data.data(), data.size());
  const double s = clock.seconds();
  check_sum(v, want, "parallel_sum/sequential value");
  return s;
}

double sum_trident(exec::thread_pool& pool, const std::vector<double>& data, double want) {
  stopwatch clock;
  const double v = trident::exec::parallel_reduce(
      pool, 0, data.size(), 0.0, [&](std::size_t b, std::size_t e) { return sum_sqrt(data.data() + b, e - b); });
  const double s = clock.seconds();
  check_sum(v, want, "parallel_sum/trident value");
  return s;
}

#if TRIDENT_BENCH_ASIO
// Asio's thread_pool: asio::post, asio::use_future and a latch (threads_peer_asio.cpp).
double spawn_asio(asio_threads_peer::pool& pool) {
  take_task_count();
  const double s = asio_threads_peer::post_all(pool, spawn_count, &count_this_task);
  check(take_task_count() == spawn_count, "spawn_empty/asio ran every task");
  return static_cast<double>(spawn_count) / s;
}

double future_asio(asio_threads_peer::pool& pool) {
  long long sum = 0;
  const double s = asio_threads_peer::futures(pool, future_count, sum);
  check(sum == expected_future_sum(), "future_int/asio sum");
  return static_cast<double>(future_count) / s;
}

/// Asio has no parallel reduction: the range goes out in `asio_pieces_per_thread` pieces per
/// thread, each posted to the pool, and the partial sums are added at the end.
constexpr std::size_t asio_pieces_per_thread = 4;

double sum_asio(asio_threads_peer::pool& pool, std::size_t threads, const std::vector<double>& data, double want) {
  double v = 0;
  const double s = asio_threads_peer::reduce(
      pool, data.size(), threads * asio_pieces_per_thread,
      [&](std::size_t b, std::size_t e) { return sum_sqrt(data.data() + b, e - b); }, v);
  check_sum(v, want, "parallel_sum/asio value");
  return s;
}
#endif

#if defined(TRIDENT_HAVE_TBB)
double spawn_tbb() {
  take_task_count();
  stopwatch clock;
  tbb::task_group g;
  for (std::size_t i = 0; i < spawn_count; ++i) g.run([] { count_this_task(); });
  g.wait();
  const double s = clock.seconds();
  check(take_task_count() == spawn_count, "spawn_empty/tbb ran every task");
  return static_cast<double>(spawn_count) / s;
}

double future_tbb() {
  stopwatch clock;
  std::vector<std::promise<int>> promises(future_count);
  std::vector<std::future<int>> futures;
  futures.reserve(future_count);
  tbb::task_group g;
  for (std::size_t i = 0; i < future_count; ++i) {
    futures.push_back(promises[i].get_future());
    g.run([&p = promises[i], i] { p.set_value(static_cast<int>(i & 1023)); });
  }
  g.wait();  // the calling thread helps run the tasks, as TBB intends
  long long sum = 0;
  for (auto& f : futures) sum += f.get();
  const double s = clock.seconds();
  check(sum == expected_future_sum(), "future_int/tbb sum");
  return static_cast<double>(future_count) / s;
}

int fib_tbb_rec(int n) {
  if (n < 2) return n;
  int a = 0, b = 0;
  tbb::task_group g;
  g.run([&] { a = fib_tbb_rec(n - 1); });
  g.run([&] { b = fib_tbb_rec(n - 2); });
  g.wait();
  return a + b;
}

double fib_tbb() {
  stopwatch clock;
  const int v = fib_tbb_rec(fib_n);
  const double s = clock.seconds();
  check(v == fib_expected(fib_n), "fib30/tbb value");
  return s;
}

double sum_tbb(const std::vector<double>& data, double want) {
  stopwatch clock;
  const double v = tbb::parallel_reduce(
      tbb::blocked_range<std::size_t>(0, data.size()), 0.0,
      [&](const tbb::blocked_range<std::size_t>& r, double acc) {
        return acc + sum_sqrt(data.data() + r.begin(), r.size());
      },
      std::plus<double>());
  const double s = clock.seconds();
  check_sum(v, want, "parallel_sum/tbb value");
  return s;
}
#endif

// ---------------------------------------------------------------------------------------------

}  // namespace

int run_threads_suite(const bench_options& options) {
  suite_runner runner("threads", options, std::chrono::milliseconds(20));
  const std::size_t threads = exec::thread_pool_options::default_worker_count();
  // Started on first use, so that a run that only fails its --case check starts no threads.
  std::optional<exec::thread_pool> pool;
  std::optional<std_pool> plain;
#if TRIDENT_BENCH_ASIO
  std::optional<asio_threads_peer::pool> asio_pool;
#endif
  const auto start_pools = [&] {
    if (!pool) pool.emplace(threads);
    if (!plain) plain.emplace(threads);
#if TRIDENT_BENCH_ASIO
    if (!asio_pool) asio_pool.emplace(threads);
#endif
  };
  const bool variants = std::getenv("TRIDENT_BENCH_VARIANTS") != nullptr;
  const std::shared_ptr<implementation> python =
      external_impl::python_script("python", "threads/threadpool_executor.py");

#if defined(TRIDENT_HAVE_TBB)
  const std::string ref = "tbb";
#else
  const std::string ref;
  runner.note("built without oneTBB: no tbb rows");
#endif
  const auto in_process = [](std::string name, std::function<double()> run) -> std::shared_ptr<implementation> {
    return std::make_shared<in_process_impl>(std::move(name), std::move(run));
  };

  std::vector<double> data;
  double want_sum = 0;
  {
    bench_case c{{{"spawn_empty", "tasks/s", true}}, ref, start_pools, {}, {}};
    c.impls.push_back(in_process("trident", [&] { return spawn_trident(*pool); }));
#if defined(TRIDENT_HAVE_TBB)
    c.impls.push_back(in_process("tbb", [] { return spawn_tbb(); }));
#endif
#if TRIDENT_BENCH_ASIO
    c.impls.push_back(in_process("asio", [&] { return spawn_asio(*asio_pool); }));
#endif
    c.impls.push_back(in_process("std", [&] { return spawn_std(*plain); }));
    c.impls.push_back(python);
    runner.add(std::move(c));
  }
  {
    bench_case c{{{"future_int", "tasks/s", true}}, ref, start_pools, {}, {}};
    c.impls.push_back(in_process("trident", [&] { return future_trident(*pool); }));
#if defined(TRIDENT_HAVE_TBB)
    c.impls.push_back(in_process("tbb", [] { return future_tbb(); }));
#endif
#if TRIDENT_BENCH_ASIO
    c.impls.push_back(in_process("asio", [&] { return future_asio(*asio_pool); }));
#endif
    c.impls.push_back(in_process("std", [&] { return future_std(*plain); }));
    c.impls.push_back(python);
    runner.add(std::move(c));
  }
  {
    bench_case c{{{"fib30", "s", false}}, ref, start_pools, {}, {}};
    c.impls.push_back(in_process("trident", [&] { return fib_trident(*pool, fib_trident_group); }));
    if (variants)
      c.impls.push_back(in_process("trident-submit", [&] { return fib_trident(*pool, fib_trident_submit); }));
#if defined(TRIDENT_HAVE_TBB)
    c.impls.push_back(in_process("tbb", [] { return fib_tbb(); }));
#endif
    c.impls.push_back(python);
    runner.add(std::move(c));
  }
  {
    bench_case c{{{"parallel_sum", "s", false}}, "sequential", {}, {}, {}};
    c.setup = [&] {
      start_pools();
      data.resize(sum_count);
      for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<double>(i % 1000) + 0.5;
      want_sum = sum_sqrt(data.data(), data.size());
    };
    c.teardown = [&] { std::vector<double>().swap(data); };
    c.impls.push_back(in_process("sequential", [&] { return sum_sequential(data, want_sum); }));
    c.impls.push_back(in_process("trident", [&] { return sum_trident(*pool, data, want_sum); }));
#if defined(TRIDENT_HAVE_TBB)
    c.impls.push_back(in_process("tbb", [&] { return sum_tbb(data, want_sum); }));
#endif
#if TRIDENT_BENCH_ASIO
    c.impls.push_back(in_process("asio", [&] { return sum_asio(*asio_pool, threads, data, want_sum); }));
#endif
    c.impls.push_back(python);
    runner.add(std::move(c));
  }
#if defined(TRIDENT_HAVE_TBB)
  runner.add_target({"spawn_empty", "trident", "tbb", 2.5, ">=2.5x tbb"});
#endif

  runner.check_requested_cases();
#if TRIDENT_BENCH_ASIO
  runner.note(
      fmt::format("asio: asio::thread_pool({}) with asio::post; future_int through asio::use_future; "
                  "spawn_empty and parallel_sum wait on a std::latch; parallel_sum in {} pieces per thread "
                  "(Asio has no parallel reduction); no fib30 row (a task blocking on its children's "
                  "futures deadlocks a fixed pool, as std's does)",
                  threads, asio_pieces_per_thread));
#else
  runner.note("built without Asio: no asio rows");
#endif
  runner.note(
      fmt::format("{} hardware threads; trident and std pools of {} workers; tbb default arena; python: "
                  "ThreadPoolExecutor({} workers; 16 for fib30); median of {} round(s), implementations "
                  "interleaved",
                  threads, threads, threads, options.repeat));
  suite_results out = runner.run();

  if (runner.wanted("fib30")) {
    out.notes.push_back(
        "fib30/std absent: both children of every call are tasks, and a pool whose workers block "
        "in std::future::get deadlocks once every worker waits (no cutoff is allowed)");
    out.notes.push_back(
        "fib30/trident: a task_group per call, as oneTBB's row does "
        "(TRIDENT_BENCH_VARIANTS=1 adds submit-both-then-get() as trident-submit)");
    out.notes.push_back(
        "fib30/python is NOT the same workload: fib(20) with tasks for the top 4 levels only (a task "
        "per call deadlocks ThreadPoolExecutor), its time scaled to fib(30)'s call count; read it as "
        "an order of magnitude");
  }
  for (const auto& r : out.rows) {
    if (r.impl != "trident") continue;
    if (const result* py = find_result(out.rows, r.case_name, "python");
        py != nullptr && py->value > 0 && r.value > 0) {
      const double speedup = r.higher_is_better ? r.value / py->value : py->value / r.value;
      out.notes.push_back(
          fmt::format("{}: trident {:.0f}x python (python sizes scaled down, values per C++ "
                      "workload; see threadpool_executor.py)",
                      r.case_name, speedup));
    }
  }
  return report_suite_results(out, options);
}

}  // namespace trident::bench
