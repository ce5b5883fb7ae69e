// advisor::advise on synthetic work: a CPU-bound registered task and a waiting (I/O-bound) one.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "trident/advisor/advise.hpp"
#include "trident/proc/task_registry.hpp"

namespace {

/// CPU-bound: a few million steps of a hash chain (about 10–50 ms).
std::uint64_t churn(int seed) {
  std::uint64_t x = static_cast<std::uint64_t>(seed) * 0x9E3779B97F4A7C15ULL + 1;
  for (int i = 0; i < 3'000'000; ++i) x = (x ^ (x >> 31)) * 0xBF58476D1CE4E5B9ULL + static_cast<std::uint64_t>(i);
  return x;
}
TRIDENT_TASK(churn);

/// A plain function that is not registered as a task: no process can run it.
int double_it(int value) { return 2 * value; }

/// Waiting: sleeps 20 ms, like a request to a slow server.
int wait_and_echo(int value) {
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  return value * 2;
}

const trident::advisor::measured_model* find(const trident::advisor::advice& a, const std::string& family) {
  for (const auto& run : a.runs) {
    if (run.family == family) return &run;
  }
  return nullptr;
}

TEST(Advise, RunsACpuBoundTaskUnderEveryModelIncludingProcesses) {
  trident::advisor::advise_options options;
  options.cores = 2;
  options.io_bound_below = 0.05;  // a busy loop stays above this however loaded the machine is
  const std::vector<int> samples{1, 2, 3, 4, 5, 6};
  const auto advice = trident::advisor::advise(churn, samples, options);
  ASSERT_EQ(advice.runs.size(), 4u);
  for (const auto& run : advice.runs) EXPECT_TRUE(run.ok) << run.model << ": " << run.error;
  ASSERT_NE(find(advice, "processes"), nullptr);
  EXPECT_EQ(find(advice, "processes")->model, "processes_2");
  EXPECT_EQ(find(advice, "threads")->model, "threads_2");  // CPU-bound: one worker per core
  EXPECT_GT(find(advice, "processes")->cost.peak_processes, 1);
  EXPECT_GT(advice.cpu_per_wall, 0.05);
  EXPECT_GT(advice.process_start_seconds, 0.0);
  ASSERT_FALSE(advice.model.empty());
  EXPECT_NE(advice.reason.find(advice.model), std::string::npos) << advice.reason;
  EXPECT_TRUE(std::any_of(advice.runs.begin(), advice.runs.end(),
                          [&](const auto& run) { return run.model == advice.model && run.family == advice.family; }));
}

TEST(Advise, GivesWaitingWorkMoreWorkersThanCoresAndSkipsProcessesForALambda) {
  trident::advisor::advise_options options;
  options.cores = 2;
  std::vector<int> samples(16);
  for (int i = 0; i < 16; ++i) samples[static_cast<std::size_t>(i)] = i;
  const auto advice = trident::advisor::advise([](int v) { return wait_and_echo(v); }, samples, options);
  EXPECT_LT(advice.cpu_per_wall, 0.5);            // sleeping costs almost no CPU
  EXPECT_EQ(find(advice, "processes"), nullptr);  // a lambda cannot cross a process boundary
  ASSERT_NE(find(advice, "threads"), nullptr);
  EXPECT_EQ(find(advice, "threads")->workers, 16u);  // one per item: the cores would idle otherwise
  EXPECT_EQ(find(advice, "async")->workers, 16u);
  for (const auto& run : advice.runs) EXPECT_TRUE(run.ok) << run.model << ": " << run.error;
  EXPECT_NEAR(advice.seconds_per_item, 0.02, 0.5);  // what one item costs, read off the sequential run
}

TEST(Advise, AModelThatFailsIsReportedAndTheOthersStillCount) {
  trident::advisor::advise_options options;
  options.cores = 2;
  options.repeat = 1;  // the counting below assumes one sequential run
  std::atomic<int> calls{0};
  // The first 3 calls (the sequential run) succeed; later ones throw on item 2.
  const auto advice = trident::advisor::advise(
      [&calls](int v) {
        if (calls.fetch_add(1) >= 3 && v == 2) throw std::runtime_error("item 2 failed");
        return v;
      },
      std::vector<int>{1, 2, 3}, options);
  ASSERT_TRUE(advice.runs.front().ok);
  for (std::size_t i = 1; i < advice.runs.size(); ++i) {
    EXPECT_FALSE(advice.runs[i].ok) << advice.runs[i].model;
    EXPECT_NE(advice.runs[i].error.find("item 2 failed"), std::string::npos) << advice.runs[i].error;
  }
  EXPECT_EQ(advice.model, "sequential");
}

TEST(Advise, AModelWithDifferentResultsIsNotRecommended) {
  trident::advisor::advise_options options;
  options.cores = 2;
  options.repeat = 1;  // the counting below assumes one sequential run
  std::atomic<int> calls{0};
  const auto advice = trident::advisor::advise([&calls](int v) { return calls.fetch_add(1) < 4 ? v : -v; },
                                               std::vector<int>{1, 2, 3, 4}, options);
  EXPECT_TRUE(advice.runs.front().ok);
  EXPECT_FALSE(advice.runs[1].ok);
  EXPECT_NE(advice.runs[1].error.find("differ"), std::string::npos);
  EXPECT_EQ(advice.model, "sequential");
}

TEST(Advise, SkipsTheProcessModelForAnUnregisteredFunctionAndSaysSo) {
  trident::advisor::advise_options options;
  options.cores = 2;
  options.repeat = 1;
  const auto advice = trident::advisor::advise(double_it, std::vector<int>{1, 2, 3, 4}, options);
  EXPECT_EQ(find(advice, "processes"), nullptr) << "an unregistered function cannot run in a worker";
  for (const auto& run : advice.runs) EXPECT_TRUE(run.ok) << run.model << ": " << run.error;
  ASSERT_EQ(advice.notes.size(), 1u);
  EXPECT_NE(advice.notes.front().find("not registered with TRIDENT_TASK"), std::string::npos) << advice.notes.front();
  EXPECT_FALSE(trident::proc::is_registered_task(double_it));
  EXPECT_TRUE(trident::proc::is_registered_task(churn));
}

TEST(Advise, NeverAdvisesAsyncForCpuBoundWorkAndRepeatsEachModel) {
  trident::advisor::advise_options options;
  options.cores = 2;
  options.io_bound_below = 0.05;  // a busy loop stays above this however loaded the machine is
  options.processes = false;
  options.repeat = 3;
  const auto advice = trident::advisor::advise(churn, std::vector<int>{1, 2, 3, 4}, options);
  const auto* async = find(advice, "async");
  ASSERT_NE(async, nullptr);
  EXPECT_TRUE(async->ok) << async->error;
  EXPECT_NE(async->excluded.find("CPU-bound"), std::string::npos) << async->excluded;
  EXPECT_NE(advice.family, "async");
  for (const auto& run : advice.runs) {
    EXPECT_EQ(run.runs, 3u) << run.model;
    EXPECT_LE(run.wall_min, run.cost.wall_seconds) << run.model;
    EXPECT_GE(run.wall_max, run.cost.wall_seconds) << run.model;
  }
}

trident::advisor::measured_model measured(const char* model, const char* family, double wall, double low, double high,
                                          std::uint64_t bytes, int threads) {
  trident::advisor::measured_model m;
  m.model = model;
  m.family = family;
  m.cost.wall_seconds = wall;
  m.cost.cpu_seconds = wall * 1.9;
  m.cost.peak_bytes = bytes;
  m.cost.peak_threads = threads;
  m.cost.peak_processes = 1;
  m.wall_min = low;
  m.wall_max = high;
  m.runs = 3;
  m.ok = true;
  return m;
}

TEST(Advise, OnATieTheSimplerThreadModelIsAdvisedOverTheSameThreadsBehindALoop) {
  // Injected figures of a CPU-bound sample: async_to_thread a hair faster, same footprint.
  std::vector<trident::advisor::measured_model> runs{
      measured("sequential", "sequential", 2.00, 1.95, 2.10, 5'000'000, 1),
      measured("threads_2", "threads", 1.03, 0.99, 1.10, 6'000'000, 3),
      measured("async_to_thread_2", "async", 1.01, 0.98, 1.08, 6'200'000, 4)};
  const auto advice = trident::advisor::advise_detail::conclude(runs, 8, 0);
  EXPECT_EQ(advice.model, "threads_2");
  EXPECT_EQ(advice.basis, trident::advisor::pick_basis::simpler);
  EXPECT_EQ(advice.ties, (std::vector<std::string>{"async_to_thread_2"}));
  EXPECT_NE(advice.reason.find("It ties with the fastest, async_to_thread_2"), std::string::npos) << advice.reason;
}

}  // namespace
