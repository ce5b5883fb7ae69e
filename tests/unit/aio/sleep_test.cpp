#include "trident/aio/run.hpp"
#include "trident/aio/sleep.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "trident/aio/gather.hpp"
#include "trident/aio/spawn.hpp"

namespace trident::aio {
namespace {

using namespace std::chrono_literals;

TEST(sleep, concurrent_sleeps_overlap_and_wake_in_deadline_order) {
  std::vector<int> order;
  auto sleeper = [&](int id, std::chrono::milliseconds d) -> task<int> {
    co_await sleep(d);
    order.push_back(id);
    co_return id;
  };
  const auto start = clock::now();
  auto results = run([&]() -> task<std::vector<int>> {
    std::vector<task<int>> ts;
    ts.push_back(sleeper(1, 50ms));
    ts.push_back(sleeper(2, 30ms));
    ts.push_back(sleeper(3, 40ms));
    ts.push_back(sleeper(4, 20ms));
    co_return co_await gather(std::move(ts));
  }());
  const auto took = clock::now() - start;
  EXPECT_EQ(results, (std::vector<int>{1, 2, 3, 4}));  // argument order
  EXPECT_EQ(order, (std::vector<int>{4, 2, 3, 1}));    // deadline order
  EXPECT_GE(took, 50ms);
  // Overlapped, not summed (140 ms); the bound is loose because the machine may be busy.
  EXPECT_LT(took, 135ms);
}

TEST(sleep, cancelling_a_sleeping_task_raises_cancelled_error_inside_it) {
  std::string seen;
  // A coroutine lambda must outlive its coroutine (its captures live in the closure object), so
  // each is a named local here, never a temporary passed to spawn.
  auto sleeper = [&]() -> task<void> {
    try {
      co_await sleep(10s);
      seen = "woke";
    } catch (const cancelled_error&) {
      seen = "cancelled";
      throw;
    }
  };
  run([&]() -> task<void> {
    auto h = spawn(sleeper());
    co_await sleep(0ms);  // let it start sleeping
    EXPECT_TRUE(h.cancel());
    co_await h.wait();
    EXPECT_TRUE(h.cancelled());
  }());
  EXPECT_EQ(seen, "cancelled");
}

TEST(sleep, task_cancelled_before_it_starts_never_runs) {
  bool ran = false;
  auto body = [&]() -> task<void> {
    ran = true;
    co_return;
  };
  run([&]() -> task<void> {
    auto h = spawn(body());
    h.cancel();
    EXPECT_THROW(co_await h, cancelled_error);
  }());
  EXPECT_FALSE(ran);
}

TEST(sleep, loop_shutdown_cancels_pending_tasks_and_runs_their_cleanup) {
  int cleaned = 0;
  struct cleanup {
    int* n;
    ~cleanup() { ++*n; }
  };
  auto long_sleeper = [&]() -> task<void> {
    cleanup c{&cleaned};
    co_await sleep(1h);
  };
  run([&]() -> task<void> {
    for (int i = 0; i < 3; ++i) spawn(long_sleeper());
    co_await sleep(1ms);
  }());
  EXPECT_EQ(cleaned, 3);
}

}  // namespace
}  // namespace trident::aio

namespace trident::aio {
namespace {

using namespace std::chrono_literals;

TEST(virtual_time, an_hour_of_sleeping_passes_at_once_and_in_order) {
  auto order = run(
      []() -> task<std::vector<int>> {
        std::vector<int> seen;
        auto sleeper = [](std::vector<int>* out, std::chrono::minutes d, int id) -> task<void> {
          co_await sleep(d);
          out->push_back(id);
        };
        auto& loop = event_loop::running();
        const auto t0 = loop.now();
        auto a = spawn(sleeper(&seen, 60min, 3));
        auto b = spawn(sleeper(&seen, 20min, 1));
        auto c = spawn(sleeper(&seen, 40min, 2));
        co_await a;
        co_await b;
        co_await c;
        EXPECT_EQ(loop.now() - t0, std::chrono::duration_cast<clock::duration>(60min));
        co_return seen;
      }(),
      loop_options{.virtual_time = true});
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(virtual_time, time_stands_still_while_tasks_run) {
  const bool still = run(
      []() -> task<bool> {
        auto& loop = event_loop::running();
        const auto t0 = loop.now();
        volatile long spin = 0;
        for (int i = 0; i < 1000000; ++i) spin = spin + i;
        co_await sleep(0ms);
        co_return loop.now() == t0;
      }(),
      loop_options{.virtual_time = true});
  EXPECT_TRUE(still);
}

// Timers with the same deadline fire in the order they were armed (the heap breaks ties by a
// 32-bit arming sequence), also when many are armed between them.
TEST(sleep, equal_deadlines_wake_in_arming_order) {
  std::vector<int> order;
  run(
      [&]() -> task<void> {
        const auto deadline = event_loop::running().now() + 1s;
        auto sleeper = [&](int id) -> task<void> {
          co_await sleep_until(deadline);
          order.push_back(id);
        };
        auto other = [&]() -> task<void> { co_await sleep(2s); };
        std::vector<task_handle<void>> handles;
        for (int i = 0; i < 300; ++i) {
          handles.push_back(spawn(sleeper(i)));
          handles.push_back(spawn(other()));  // armed between them, firing later
        }
        for (auto& h : handles) co_await h;
      }(),
      loop_options{.virtual_time = true});
  ASSERT_EQ(order.size(), 300u);
  for (int i = 0; i < 300; ++i) EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
}

}  // namespace
}  // namespace trident::aio
