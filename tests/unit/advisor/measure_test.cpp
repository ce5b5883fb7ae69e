// advisor::measure: CPU time, peak memory and the process tree's threads and processes.

#include <gtest/gtest.h>

#include <time.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "trident/advisor/measure.hpp"
#include "trident/proc/process_pool.hpp"
#include "trident/proc/task_registry.hpp"

namespace {

int sleep_in_worker(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}
TRIDENT_TASK(sleep_in_worker);

// Burns `ms` milliseconds of this process's CPU time, however long that takes on a loaded
// machine.
int spin_in_worker(int ms) {
  const auto cpu_ms = [] {
    timespec t{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
  };
  const double until = cpu_ms() + ms;
  std::uint64_t x = 1;
  while (cpu_ms() < until) x = x * 6364136223846793005ULL + 1;
  return static_cast<int>(x & 1);
}
TRIDENT_TASK(spin_in_worker);

TEST(Measure, SeesAllocatedMemoryEvenWhenFreedBeforeTheEnd) {
  constexpr std::size_t bytes = 64u << 20;
  const auto cost = trident::advisor::measure([] {
    auto block = std::make_unique<char[]>(bytes);
    std::memset(block.get(), 1, bytes);  // touched: resident
    // Escapes to the compiler, so the allocation cannot be elided (clang removes a new/delete
    // pair whose memory nobody reads).
    asm volatile("" : : "r"(block.get()) : "memory");
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  });
  EXPECT_GE(cost.peak_bytes, bytes);
  EXPECT_GT(cost.wall_seconds, 0.0);
  EXPECT_EQ(cost.memory_source, "proc");
}

TEST(Measure, CountsThreadsAndChildProcessesOfTheTree) {
  const auto cost = trident::advisor::measure([] {
    trident::proc::process_pool pool(2);
    std::vector<trident::exec::future<int>> calls;
    for (int i = 0; i < 4; ++i) calls.push_back(pool.submit(sleep_in_worker, 50));
    for (auto& c : calls) (void)c.get();
  });
  EXPECT_GE(cost.peak_processes, 3);  // this process and two workers
  EXPECT_GE(cost.peak_threads, 3);
}

TEST(Measure, CountsCpuTimeOfBusyWork) {
  volatile std::uint64_t sink = 0;
  const auto cost = trident::advisor::measure([&sink] {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
    std::uint64_t x = 1;
    while (std::chrono::steady_clock::now() < until) x = x * 6364136223846793005ULL + 1;
    sink = x;
  });
  EXPECT_GT(cost.cpu_seconds, 0.0);
  EXPECT_LE(cost.cpu_seconds, cost.wall_seconds * 1.5 + 0.05);  // one thread cannot use much more than its wall time
  EXPECT_GE(cost.wall_seconds, 0.1);
}

// Workers are reaped by the fork server, not by this process: their CPU time still counts.
TEST(Measure, CountsCpuTimeOfWorkersThatEnded) {
  const auto cost = trident::advisor::measure([] {
    trident::proc::process_pool pool(1);
    (void)pool.submit(spin_in_worker, 200).get();
    pool.shutdown();
  });
  // The worker used 200 ms of CPU (the caller only waited): all of it must be counted.
  EXPECT_GE(cost.cpu_seconds, 0.2) << "wall " << cost.wall_seconds;
}

TEST(Measure, RethrowsTheBodysException) {
  EXPECT_THROW((void)trident::advisor::measure([] { throw std::runtime_error("boom"); }), std::runtime_error);
}

TEST(SampleProcessTree, SeesThisProcessAlone) {
  const auto sample = trident::advisor::sample_process_tree();
  EXPECT_EQ(sample.processes, 1);
  EXPECT_GE(sample.threads, 1);
  EXPECT_GT(sample.resident_bytes, 0u);
}

}  // namespace
