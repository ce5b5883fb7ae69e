// process_pool::statistics(): the counters stay consistent through crashes, timeouts,
// cancellations and shutdown (the invariants in process_pool_statistics's doc).

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "trident/proc/process_pool.hpp"
#include "trident/proc/worker_main.hpp"

namespace {

volatile std::uintptr_t stats_bad_address = 8;

int stats_echo(int x) { return x; }
TRIDENT_TASK(stats_echo);

int stats_throws(int x) { throw std::runtime_error("task " + std::to_string(x) + " failed"); }
TRIDENT_TASK(stats_throws);

int stats_segfaults(int) {
  volatile int* p = reinterpret_cast<volatile int*>(stats_bad_address);
  *p = 1;
  return 0;
}
TRIDENT_TASK(stats_segfaults);

int stats_aborts(int) { std::abort(); }
TRIDENT_TASK(stats_aborts);

int stats_sleeps_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}
TRIDENT_TASK(stats_sleeps_ms);

/// Segfaults for 0, returns its argument otherwise: a crash with tasks pipelined behind it.
int stats_crash_on_zero(int x) { return x == 0 ? stats_segfaults(0) : x; }
TRIDENT_TASK(stats_crash_on_zero);

using trident::proc::process_pool;
using trident::proc::process_pool_options;
using trident::proc::process_pool_statistics;

std::size_t finished(const process_pool_statistics& s) { return s.completed + s.crashed + s.cancelled; }

/// The invariants that hold in every snapshot, and that nothing monotone went back.
void expect_consistent(const process_pool_statistics& s, const process_pool_statistics& before) {
  EXPECT_EQ(s.submitted, s.queued + s.in_flight + s.completed + s.crashed + s.cancelled) << s;
  EXPECT_LE(s.queued, s.submitted) << s;  // a wrapped counter would be near 2^64
  EXPECT_LE(s.in_flight, s.submitted) << s;
  EXPECT_GE(s.submitted, before.submitted) << s;
  EXPECT_GE(s.completed, before.completed) << s;
  EXPECT_GE(s.crashed, before.crashed) << s;
  EXPECT_GE(s.cancelled, before.cancelled) << s;
  EXPECT_GE(s.started, before.started) << s;
}

void expect_drained(const process_pool_statistics& s) {
  EXPECT_EQ(s.queued, 0u) << s;
  EXPECT_EQ(s.in_flight, 0u) << s;
  EXPECT_TRUE(s.worker_pids.empty()) << s;
  EXPECT_EQ(s.submitted, finished(s)) << s;
}

// Regression: with one worker, a crash put the tasks pipelined behind the crashed one back in
// the queue without counting them as queued again; sending them again then took `queued` below
// zero, and statistics() printed queued:18446744073709551615, before and after shutdown().
TEST(process_pool_statistics, queued_does_not_wrap_below_zero_after_a_worker_crash) {
  process_pool pool(1);
  // One batch of six tasks (chunksize 1): the first task (the crash) and at least the next one
  // go to the worker together.
  EXPECT_THROW((void)pool.map(stats_crash_on_zero, std::vector{0, 1, 2, 3, 4, 5}, 1),
               trident::proc::worker_crashed_error);
  auto s = pool.statistics();
  EXPECT_EQ(s.queued, 0u) << s;
  EXPECT_EQ(s.in_flight, 0u) << s;
  EXPECT_EQ(s.submitted, 6u) << s;
  EXPECT_EQ(s.completed, 5u) << s;
  EXPECT_EQ(s.crashed, 1u) << s;
  pool.shutdown();
  expect_drained(pool.statistics());
}

TEST(process_pool_statistics, counts_a_task_cancelled_while_queued) {
  process_pool pool(1);
  auto blocker = pool.submit(stats_sleeps_ms, 200);
  std::vector<trident::exec::future<int>> behind;
  for (int i = 0; i < 8; ++i) behind.push_back(pool.submit(stats_echo, i));
  std::size_t cancelled = 0;
  for (auto& f : behind) cancelled += f.cancel();
  EXPECT_EQ(blocker.get(), 200);
  pool.shutdown();
  const auto s = pool.statistics();
  expect_drained(s);
  EXPECT_EQ(s.cancelled, cancelled) << s;
  EXPECT_EQ(s.completed, 1 + behind.size() - cancelled) << s;
}

enum class kind { ok, throws, segfault, abort, timeout, cancel };
constexpr const char* kind_names[] = {"ok", "throws", "segfault", "abort", "timeout", "cancel"};

/// One random run: `tasks` tasks of random kinds on a pool of 1 or 2 workers, the invariants
/// checked after every future completes, then after a shutdown of the seed's choosing.
void run_random_sequence(std::uint32_t seed, int tasks) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  const std::size_t workers = 1 + rng() % 2;
  const int finish = static_cast<int>(rng() % 3);  // 0: drain, 1: shutdown(cancel_pending), 2: terminate
  static constexpr const char* finish_names[] = {"drain", "shutdown(cancel_pending)", "terminate"};
  std::printf("process_pool statistics property run: seed %u, %zu worker(s), then %s\n", seed, workers,
              finish_names[finish]);
  process_pool pool(workers);

  std::vector<kind> kinds;
  std::vector<trident::exec::future<int>> futures;
  std::vector<bool> cancelled_by_us;
  for (int i = 0; i < tasks; ++i) {
    // Mostly quick tasks; the slow kinds (a crash restarts a worker, a timeout waits 30 ms) rarer.
    const unsigned roll = rng() % 20;
    const kind k = roll < 9    ? kind::ok
                   : roll < 12 ? kind::throws
                   : roll < 14 ? kind::segfault
                   : roll < 15 ? kind::abort
                   : roll < 16 ? kind::timeout
                               : kind::cancel;
    kinds.push_back(k);
    switch (k) {
      case kind::ok:
        futures.push_back(pool.submit(stats_echo, i));
        break;
      case kind::throws:
        futures.push_back(pool.submit(stats_throws, i));
        break;
      case kind::segfault:
        futures.push_back(pool.submit(stats_segfaults, i));
        break;
      case kind::abort:
        futures.push_back(pool.submit(stats_aborts, i));
        break;
      case kind::timeout:
        futures.push_back(pool.submit_for(std::chrono::milliseconds(30), stats_sleeps_ms, 60'000));
        break;
      case kind::cancel:
        futures.push_back(pool.submit(stats_sleeps_ms, 1));
        break;
    }
    cancelled_by_us.push_back(k == kind::cancel && futures.back().cancel());
  }

  if (finish == 1) pool.shutdown(trident::shutdown_mode::cancel_pending);
  if (finish == 2) pool.terminate();

  process_pool_statistics before = pool.statistics();
  std::size_t resolved_by_pool = 0;
  std::size_t values = 0, remote_errors = 0, crashes = 0, cancellations = 0;
  for (int i = 0; i < tasks; ++i) {
    SCOPED_TRACE(std::string("task ") + std::to_string(i) + " (" + kind_names[static_cast<int>(kinds[i])] + ")");
    try {
      (void)futures[i].get();
      ++values;
      EXPECT_TRUE(kinds[i] == kind::ok || kinds[i] == kind::cancel);
    } catch (const trident::proc::remote_error&) {
      ++remote_errors;
      EXPECT_EQ(kinds[i], kind::throws);
    } catch (const trident::proc::worker_crashed_error&) {
      ++crashes;
      EXPECT_TRUE(kinds[i] == kind::segfault || kinds[i] == kind::abort);
    } catch (const trident::proc::task_timeout_error&) {
      ++crashes;
      EXPECT_EQ(kinds[i], kind::timeout);
    } catch (const trident::cancelled_error&) {
      ++cancellations;
      EXPECT_TRUE(cancelled_by_us[i] || finish != 0);
    }
    if (!cancelled_by_us[i]) ++resolved_by_pool;
    const auto s = pool.statistics();
    expect_consistent(s, before);
    // Counted before the future became ready (a cancel through the future is counted later).
    EXPECT_GE(finished(s), resolved_by_pool) << s;
    before = s;
  }

  pool.shutdown();
  const auto s = pool.statistics();
  expect_consistent(s, before);
  expect_drained(s);
  EXPECT_EQ(s.submitted, static_cast<std::size_t>(tasks)) << s;
  EXPECT_EQ(s.completed, values + remote_errors) << s;
  EXPECT_EQ(s.crashed + s.cancelled, crashes + cancellations) << s;
  if (finish == 0) {
    EXPECT_EQ(s.crashed, crashes) << s;
    EXPECT_EQ(s.cancelled, cancellations) << s;
  }
}

TEST(process_pool_statistics, counters_stay_consistent_through_random_crashes_timeouts_and_shutdowns) {
  for (std::uint32_t seed = 1; seed <= 12; ++seed) run_random_sequence(seed, 60);
}

}  // namespace
