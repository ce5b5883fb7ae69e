// Micro-benchmarks of single thread_pool operations (Google Benchmark). The comparative,
// whole-workload figures are in `trident bench threads` (threads_suite.cpp).

#include <atomic>
#include <cstddef>

#include <benchmark/benchmark.h>

#include "trident/exec/task_group.hpp"
#include "trident/exec/thread_pool.hpp"

namespace {

trident::exec::thread_pool& shared_pool() {
  static trident::exec::thread_pool pool;
  return pool;
}

// One submit and one get from outside the pool: the round trip a caller waits for
// (injection queue, wake-up of a parked worker, completion, futex wake of the caller).
void submit_get_latency(benchmark::State& state) {
  auto& pool = shared_pool();
  for (auto _ : state) {
    auto f = pool.submit([] { return 1; });
    benchmark::DoNotOptimize(f.get());
  }
}
BENCHMARK(submit_get_latency)->UseRealTime();

// Posts from outside the pool; the batch is drained by a task_group-style counter at the end.
void post_throughput(benchmark::State& state) {
  auto& pool = shared_pool();
  const auto batch = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    std::atomic<std::size_t> left{batch};
    std::atomic<std::uint32_t> done{0};
    for (std::size_t i = 0; i < batch; ++i) {
      pool.post([&] {
        if (left.fetch_sub(1, std::memory_order_acq_rel) == 1) {
          done.store(1, std::memory_order_release);
          done.notify_one();
        }
      });
    }
    done.wait(0, std::memory_order_acquire);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch));
}
BENCHMARK(post_throughput)->Arg(10'000)->UseRealTime();

// task_group::run from outside the pool, then wait.
void task_group_run(benchmark::State& state) {
  auto& pool = shared_pool();
  const auto batch = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    trident::exec::task_group g(pool);
    for (std::size_t i = 0; i < batch; ++i) g.run([] {});
    g.wait();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch));
}
BENCHMARK(task_group_run)->Arg(10'000)->UseRealTime();

// Steal path: one worker pushes a batch to its own deque (nested run) and then waits; the other
// workers can only get work by stealing from it.
void steal_path(benchmark::State& state) {
  auto& pool = shared_pool();
  const auto batch = static_cast<std::size_t>(state.range(0));
  std::size_t stolen_before = pool.statistics().stolen;
  for (auto _ : state) {
    pool.submit([&pool, batch] {
          trident::exec::task_group g(pool);
          for (std::size_t i = 0; i < batch; ++i) {
            g.run([] {
              volatile int spin = 0;
              for (int k = 0; k < 200; ++k) spin = spin + k;
            });
          }
          g.wait();
        })
        .get();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch));
  state.counters["stolen/iter"] = benchmark::Counter(static_cast<double>(pool.statistics().stolen - stolen_before) /
                                                     static_cast<double>(state.iterations()));
}
BENCHMARK(steal_path)->Arg(1'000)->UseRealTime();

}  // namespace
