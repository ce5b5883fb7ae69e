// The pool's shared-memory channel: results already in a worker's ring when it dies are
// delivered and the death is charged to the task it was running; a corrupt ring is reported as
// the worker's failure; large payloads keep their place among small ones; an idle pool sleeps.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "proc_test_support.hpp"
#include "trident/proc/detail/channel_ring.hpp"
#include "trident/proc/process_pool.hpp"

namespace {

int twice(int x) { return 2 * x; }
TRIDENT_TASK(twice);

// Element 10 of a map aborts its worker.
int twice_or_abort(int x) {
  if (x == 10) std::abort();
  return 2 * x;
}
TRIDENT_TASK(twice_or_abort);

std::string marker_of(int pid) { return "/tmp/trident_channel_test_" + std::to_string(pid); }

// Element 10 of a map says it runs (a file named after the worker) and sleeps for a long time.
int twice_or_sleep(int x) {
  if (x == 10) {
    std::ofstream(marker_of(::getpid())) << "running";
    std::this_thread::sleep_for(std::chrono::seconds(60));
  }
  return 2 * x;
}
TRIDENT_TASK(twice_or_sleep);

int corrupts_its_ring(int x) {
  trident::proc::detail::corrupt_result_ring_for_testing();
  return x;
}
TRIDENT_TASK(corrupts_its_ring);

std::size_t size_of(std::string s) { return s.size(); }
TRIDENT_TASK(size_of);

std::string string_of(int n) { return std::string(static_cast<std::size_t>(n), 'r'); }
TRIDENT_TASK(string_of);

using trident::proc::process_pool;
namespace pt = trident::proc::testing;

class process_pool_channel_test : public ::testing::Test {
 protected:
  void SetUp() override { shm_before_ = pt::dev_shm_entries(); }
  void TearDown() override {
    trident::proc::detail::hold_results_for_testing = false;
    EXPECT_EQ(pt::wait_for_children(0), 0u) << "a worker outlived its pool";
    EXPECT_EQ(pt::zombie_count(), 0u);
    EXPECT_EQ(pt::dev_shm_entries(), shm_before_) << "something was left in /dev/shm";
  }
  std::set<std::string> shm_before_;
};

// With results held in the rings, one worker and a map of 40 elements handed over at once, the
// first round sends elements 0 to 10 (a pipeline of 1 + 40 / 4): when element 10 kills the
// worker, the results of 0 to 9 are in its ring, unread. Once the death is charged, the hold
// ends and the replacement worker runs the rest.
constexpr int map_size = 40;

// Runs `fn` over 0..map_size-1 on another thread with results held; `kill` (may be empty) runs
// while the worker is stuck; returns the map's exception.
std::exception_ptr map_with_held_results(process_pool& pool, int (*fn)(int), const std::function<void()>& kill) {
  std::vector<int> in(map_size);
  for (int i = 0; i < map_size; ++i) in[i] = i;
  trident::proc::detail::hold_results_for_testing = true;
  std::exception_ptr error;
  std::thread caller([&] {
    try {
      (void)pool.map(fn, in, 1);
    } catch (...) {
      error = std::current_exception();
    }
  });
  if (kill) kill();
  for (int i = 0; i < 3000 && pool.statistics().crashed == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // Delivered when the worker died, before its death was charged: the ten it had finished.
  EXPECT_EQ(pool.statistics().completed, 10u) << "finished results in the ring were lost";
  trident::proc::detail::hold_results_for_testing = false;
  EXPECT_EQ(pool.submit(twice, 5).get(), 10);  // wakes the pool to read what was held
  caller.join();
  return error;
}

TEST_F(process_pool_channel_test, results_in_the_ring_outlive_a_task_that_crashes_its_worker) {
  process_pool pool(1);
  auto error = map_with_held_results(pool, twice_or_abort, {});
  try {
    if (error) std::rethrow_exception(error);
    FAIL() << "the crash was not reported";
  } catch (const trident::proc::worker_crashed_error& e) {
    EXPECT_EQ(e.signal(), SIGABRT) << e.what();
    EXPECT_NE(std::string(e.what()).find("twice_or_abort"), std::string::npos) << e.what();
  }
  const auto s = pool.statistics();
  EXPECT_EQ(s.completed, static_cast<std::size_t>(map_size)) << "finished results were lost or charged";
  EXPECT_EQ(s.crashed, 1u);
}

TEST_F(process_pool_channel_test, results_in_the_ring_outlive_a_worker_killed_from_outside) {
  process_pool pool(1);
  const int victim = pool.statistics().worker_pids.at(0);
  const std::string marker = marker_of(victim);
  std::remove(marker.c_str());
  auto error = map_with_held_results(pool, twice_or_sleep, [&] {
    for (int i = 0; i < 3000 && !std::ifstream(marker).good(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_TRUE(std::ifstream(marker).good()) << "the sleeping element never started";
    EXPECT_EQ(pool.statistics().completed, 0u) << "results were delivered while held";
    ::kill(victim, SIGKILL);
  });
  std::remove(marker.c_str());
  try {
    if (error) std::rethrow_exception(error);
    FAIL() << "the kill was not reported";
  } catch (const trident::proc::worker_crashed_error& e) {
    EXPECT_EQ(e.signal(), SIGKILL) << e.what();
    EXPECT_EQ(e.pid(), victim);
  }
  const auto s = pool.statistics();
  EXPECT_EQ(s.completed, static_cast<std::size_t>(map_size)) << "finished results were lost or charged";
  EXPECT_EQ(s.crashed, 1u);
}

TEST_F(process_pool_channel_test, a_corrupt_ring_fails_the_running_task_and_the_pool_goes_on) {
  process_pool pool(2);
  auto bad = pool.submit(corrupts_its_ring, 1);
  try {
    (void)bad.get();
    FAIL() << "the corrupt ring was not reported";
  } catch (const trident::proc::protocol_error& e) {
    EXPECT_NE(std::string(e.what()).find("ring corrupt"), std::string::npos) << e.what();
  }
  std::vector<int> in(200);
  for (int i = 0; i < 200; ++i) in[i] = i;
  const auto out = pool.map(twice, in, 1);
  for (int i = 0; i < 200; ++i) ASSERT_EQ(out[i], 2 * i);
  EXPECT_EQ(pool.statistics().crashed, 1u);
  EXPECT_EQ(pool.statistics().completed, 200u);
}

TEST_F(process_pool_channel_test, large_payloads_keep_their_place_among_small_ones) {
  process_pool pool(1);  // one worker: every task and result goes through one channel, in order
  std::vector<trident::exec::future<std::size_t>> sizes;
  std::vector<trident::exec::future<std::string>> strings;
  std::vector<trident::exec::future<int>> small;
  for (int i = 0; i < 30; ++i) {
    const std::size_t n = i % 3 == 0 ? 200'000 + static_cast<std::size_t>(i) : static_cast<std::size_t>(i);
    sizes.push_back(pool.submit(size_of, std::string(n, 'x')));
    strings.push_back(pool.submit(string_of, i % 4 == 0 ? 100'000 + i : i));
    small.push_back(pool.submit(twice, i));
  }
  for (int i = 0; i < 30; ++i) {
    EXPECT_EQ(sizes[i].get(), i % 3 == 0 ? 200'000u + static_cast<std::size_t>(i) : static_cast<std::size_t>(i));
    EXPECT_EQ(strings[i].get().size(), static_cast<std::size_t>(i % 4 == 0 ? 100'000 + i : i));
    EXPECT_EQ(small[i].get(), 2 * i);
  }
}

// utime + stime of a process, in clock ticks.
long cpu_ticks(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stol(field);
    if (i == 15) stime = std::stol(field);
  }
  return utime + stime;
}

TEST_F(process_pool_channel_test, an_idle_pool_sleeps) {
  process_pool pool(2);
  (void)pool.map(twice, std::vector<int>(100, 1), 1);
  const auto pids = pool.statistics().worker_pids;
  // Past the spin budgets (tens of microseconds) everybody sleeps: over half a second, a
  // spinning worker would use about half a second of CPU.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  long before = 0;
  for (int pid : pids) before += cpu_ticks(pid);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  long after = 0;
  for (int pid : pids) after += cpu_ticks(pid);
  const long ticks_per_second = ::sysconf(_SC_CLK_TCK);
  EXPECT_LT(after - before, ticks_per_second / 10) << "idle workers used CPU";
  EXPECT_EQ(pool.submit(twice, 4).get(), 8);
}

std::size_t open_descriptors() {
  std::size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    (void)entry;
    ++n;
  }
  return n;
}

TEST_F(process_pool_channel_test, a_pool_closes_every_descriptor_of_its_channels) {
  { process_pool warm_up(1); }  // the program's fork server, started once, keeps its socket
  const std::size_t before = open_descriptors();
  {
    process_pool pool(2);
    EXPECT_EQ(pool.submit(size_of, std::string(300'000, 'x')).get(), 300'000u);
    EXPECT_EQ(pool.submit(string_of, 200'000).get().size(), 200'000u);
    EXPECT_THROW((void)pool.submit(twice_or_abort, 10).get(), trident::proc::worker_crashed_error);
    EXPECT_EQ(pool.submit(twice, 3).get(), 6);
  }
  EXPECT_EQ(open_descriptors(), before) << "a memfd, eventfd or socket of the pool was left open";
}

}  // namespace
