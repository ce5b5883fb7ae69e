#include "trident/aio/run.hpp"
#include "trident/aio/task_group.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <vector>

#include "trident/aio/sleep.hpp"

namespace trident::aio {
namespace {

using namespace std::chrono_literals;

// The children sleep until deadlines taken from one start, not for durations from their own
// starts: on a loaded machine a stall of 5 ms between two children starting would reorder them.
TEST(task_group, waits_for_every_child) {
  std::vector<int> done;
  clock::time_point start;
  auto child = [&](int i) -> task<void> {
    co_await sleep_until(start + std::chrono::milliseconds(5 * i));
    done.push_back(i);
  };
  run([&]() -> task<void> {
    start = event_loop::running().now();
    co_await with_task_group([&](task_group& g) -> task<void> {
      for (int i = 3; i >= 1; --i) g.spawn(child(i));
      co_return;
    });
    EXPECT_EQ(done.size(), 3u);
  }());
  EXPECT_EQ(done, (std::vector<int>{1, 2, 3}));
}

TEST(task_group, first_failure_cancels_siblings_and_is_rethrown) {
  int cancelled = 0;
  auto sleeper = [&]() -> task<void> {
    try {
      co_await sleep(10s);
    } catch (const cancelled_error&) {
      ++cancelled;
      throw;
    }
  };
  auto failer = []() -> task<void> {
    co_await sleep(5ms);
    throw std::runtime_error("child failed");
  };
  try {
    run(with_task_group([&](task_group& g) -> task<void> {
      g.spawn(sleeper());
      g.spawn(sleeper());
      g.spawn(failer());
      co_return;
    }));
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "child failed");
  }
  EXPECT_EQ(cancelled, 2);
}

TEST(task_group, body_failure_cancels_children) {
  int cancelled = 0;
  auto sleeper = [&]() -> task<void> {
    try {
      co_await sleep(10s);
    } catch (const cancelled_error&) {
      ++cancelled;
      throw;
    }
  };
  EXPECT_THROW(run(with_task_group([&](task_group& g) -> task<void> {
                 g.spawn(sleeper());
                 co_await sleep(1ms);
                 throw std::logic_error("body failed");
               })),
               std::logic_error);
  EXPECT_EQ(cancelled, 1);
}

}  // namespace
}  // namespace trident::aio
