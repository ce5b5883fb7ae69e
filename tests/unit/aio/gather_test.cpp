#include "trident/aio/gather.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "trident/aio/run.hpp"
#include "trident/aio/sleep.hpp"

namespace trident::aio {
namespace {

using namespace std::chrono_literals;

task<int> after(std::chrono::milliseconds d, int v) {
  co_await sleep(d);
  co_return v;
}

task<int> failing_after(std::chrono::milliseconds d, const char* what) {
  co_await sleep(d);
  throw std::runtime_error(what);
}

task<void> nothing() { co_return; }

TEST(gather, results_come_in_argument_order_not_completion_order) {
  auto values = run([]() -> task<std::vector<int>> {
    std::vector<task<int>> ts;
    ts.push_back(after(30ms, 1));
    ts.push_back(after(10ms, 2));
    ts.push_back(after(20ms, 3));
    co_return co_await gather(std::move(ts));
  }());
  EXPECT_EQ(values, (std::vector<int>{1, 2, 3}));
}

TEST(gather, mixed_types_give_a_tuple) {
  auto [a, b, c] = run([]() -> task<std::tuple<int, std::monostate, int>> {
    co_return co_await gather(after(5ms, 7), nothing(), after(1ms, 9));
  }());
  EXPECT_EQ(a, 7);
  EXPECT_EQ(c, 9);
  (void)b;
}

TEST(gather, first_failure_in_argument_order_is_rethrown_after_all_finish) {
  bool slow_finished = false;
  auto slow = [&]() -> task<int> {
    co_await sleep(30ms);
    slow_finished = true;
    co_return 0;
  };
  try {
    run([&]() -> task<std::vector<int>> {
      std::vector<task<int>> ts;
      ts.push_back(slow());
      ts.push_back(failing_after(10ms, "second"));
      ts.push_back(failing_after(1ms, "third"));
      co_return co_await gather(std::move(ts));
    }());
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "second");
  }
  EXPECT_TRUE(slow_finished);  // no child is left behind
}

TEST(gather, outcomes_keep_values_and_exceptions) {
  auto outcomes = run([]() -> task<std::vector<outcome<int>>> {
    std::vector<task<int>> ts;
    ts.push_back(after(1ms, 1));
    ts.push_back(failing_after(1ms, "boom"));
    ts.push_back(after(2ms, 3));
    co_return co_await gather_outcomes(std::move(ts));
  }());
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_EQ(outcomes[0].value(), 1);
  EXPECT_FALSE(outcomes[1].has_value());
  EXPECT_THROW(outcomes[1].value(), std::runtime_error);
  EXPECT_EQ(outcomes[2].value(), 3);
}

TEST(gather, cancelling_the_gatherer_cancels_every_child) {
  int cancelled_children = 0;
  auto child = [&]() -> task<int> {
    try {
      co_await sleep(10s);
    } catch (const cancelled_error&) {
      ++cancelled_children;
      throw;
    }
    co_return 0;
  };
  auto gatherer = [&]() -> task<std::vector<int>> {
    std::vector<task<int>> ts;
    for (int i = 0; i < 3; ++i) ts.push_back(child());
    co_return co_await gather(std::move(ts));
  };
  run([&]() -> task<void> {
    auto h = spawn(gatherer());
    co_await sleep(5ms);
    h.cancel();
    EXPECT_THROW(co_await h, cancelled_error);
  }());
  EXPECT_EQ(cancelled_children, 3);
}

TEST(gather, hundred_thousand_children) {
  auto total = run([]() -> task<long> {
    auto one = [](int i) -> task<int> { co_return i; };
    std::vector<task<int>> ts;
    for (int i = 0; i < 100'000; ++i) ts.push_back(one(i));
    auto values = co_await gather(std::move(ts));
    long sum = 0;
    for (int v : values) sum += v;
    co_return sum;
  }());
  EXPECT_EQ(total, 99'999L * 100'000L / 2);
}

}  // namespace
}  // namespace trident::aio

namespace trident::aio {
namespace {

// Regression: a cancellation already pending when gather awaited its first child (the task had
// been cancelled while running, so no hook could fire) made the wait return at once, and the
// first child was neither cancelled nor awaited: it outlived the gather.
TEST(gather, a_pending_cancellation_still_cancels_and_awaits_every_child) {
  int running = 0;  // children that started and have not ended
  auto child = [&]() -> task<int> {
    ++running;
    struct on_exit {
      int* n;
      ~on_exit() { --*n; }
    } guard{&running};
    co_await sleep(std::chrono::seconds(10));
    co_return 0;
  };
  std::shared_ptr<task_handle<void>> self = std::make_shared<task_handle<void>>();
  auto gatherer = [&]() -> task<void> {
    self->cancel();  // cancelled while running: the request is pending, no hook is installed
    std::vector<task<int>> ts;
    for (int i = 0; i < 3; ++i) ts.push_back(child());
    (void)co_await gather_outcomes(std::move(ts));
  };
  run([&]() -> task<void> {
    *self = spawn(gatherer());
    EXPECT_THROW(co_await *self, cancelled_error);
    EXPECT_EQ(running, 0);  // every child ended (or never started) before the gatherer did
  }());
}

}  // namespace
}  // namespace trident::aio
