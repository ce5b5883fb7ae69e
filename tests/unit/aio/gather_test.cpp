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

TEST(gather, the_failure_raised_is_the_first_in_time_and_no_child_is_left_behind) {
  bool slow_ended = false;
  auto slow = [&]() -> task<int> {
    struct on_exit {
      bool* ended;
      ~on_exit() { *ended = true; }
    } guard{&slow_ended};
    co_await sleep(30ms);
    co_return 0;
  };
  try {
    run([&]() -> task<std::vector<int>> {
      std::vector<task<int>> ts;
      ts.push_back(slow());
      ts.push_back(failing_after(10ms, "second"));
      ts.push_back(failing_after(1ms, "third"));
      co_return co_await gather(std::move(ts));
    }(), {.virtual_time = true});
    FAIL() << "gather did not raise";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "third");
  }
  EXPECT_TRUE(slow_ended);  // cancelled and unwound before gather raised
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

// Regression (issue #10, bug 10): gather held a failure until the slowest sibling ended. With
// children that fail at 30 ms and sleep for 10 s, the error reached the caller after 10 s,
// and the sleeper ran on for all that time although its result could no longer be used.
// Now the failure cancels the sleeper, waits for it to unwind, and arrives at 30 ms.
TEST(gather, a_failure_cancels_the_siblings_instead_of_waiting_for_the_slowest) {
  bool sibling_cleaned_up = false;
  bool sibling_saw_cancellation = false;
  auto sleeper = [&]() -> task<int> {
    struct on_exit {
      bool* cleaned_up;
      ~on_exit() { *cleaned_up = true; }
    } guard{&sibling_cleaned_up};
    try {
      co_await sleep(10s);
    } catch (const cancelled_error&) {
      sibling_saw_cancellation = true;
      throw;
    }
    co_return 0;
  };
  run([&]() -> task<void> {
    const auto start = event_loop::running().now();
    std::vector<task<int>> ts;
    ts.push_back(after(5ms, 1));
    ts.push_back(failing_after(30ms, "failed at 30 ms"));
    ts.push_back(sleeper());
    auto all = gather(std::move(ts));
    try {
      (void)co_await std::move(all);
      ADD_FAILURE() << "gather did not raise";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "failed at 30 ms");
      EXPECT_EQ(event_loop::running().now() - start, 30ms);
      // The sibling unwound before the failure reached us, not after.
      EXPECT_TRUE(sibling_saw_cancellation);
      EXPECT_TRUE(sibling_cleaned_up);
    }
  }(), {.virtual_time = true});
}

TEST(gather, the_tuple_form_also_cancels_the_siblings_at_the_first_failure) {
  bool sibling_cleaned_up = false;
  auto sleeper = [&]() -> task<void> {
    struct on_exit {
      bool* cleaned_up;
      ~on_exit() { *cleaned_up = true; }
    } guard{&sibling_cleaned_up};
    co_await sleep(10s);
  };
  run([&]() -> task<void> {
    const auto start = event_loop::running().now();
    auto all = gather(after(5ms, 1), failing_after(30ms, "failed at 30 ms"), sleeper());
    try {
      (void)co_await std::move(all);
      ADD_FAILURE() << "gather did not raise";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "failed at 30 ms");
      EXPECT_EQ(event_loop::running().now() - start, 30ms);
      EXPECT_TRUE(sibling_cleaned_up);
    }
  }(), {.virtual_time = true});
}

TEST(gather, a_sibling_that_catches_the_cancellation_and_keeps_running_is_still_awaited) {
  bool stubborn_finished = false;
  auto stubborn = [&]() -> task<int> {
    bool cancelled = false;
    try {
      co_await sleep(10s);
    } catch (const cancelled_error&) {
      cancelled = true;  // C++ forbids co_await in a handler: go on below
    }
    if (cancelled) {
      // Python lets a task that caught CancelledError go on awaiting; so does Trident.
      co_await sleep(50ms);
      stubborn_finished = true;
    }
    co_return 0;
  };
  run([&]() -> task<void> {
    const auto start = event_loop::running().now();
    std::vector<task<int>> ts;
    ts.push_back(stubborn());
    ts.push_back(failing_after(30ms, "failed at 30 ms"));
    auto all = gather(std::move(ts));
    EXPECT_THROW((void)co_await std::move(all), std::runtime_error);
    EXPECT_TRUE(stubborn_finished);
    EXPECT_EQ(event_loop::running().now() - start, 80ms);
  }(), {.virtual_time = true});
}

TEST(gather, cancelling_the_gatherer_on_virtual_time_cancels_every_child_of_both_forms) {
  int unwound = 0;
  auto child = [&]() -> task<int> {
    struct on_exit {
      int* n;
      ~on_exit() { ++*n; }
    } guard{&unwound};
    co_await sleep(10s);
    co_return 0;
  };
  auto vector_form = [&]() -> task<void> {
    std::vector<task<int>> ts;
    for (int i = 0; i < 3; ++i) ts.push_back(child());
    auto all = gather(std::move(ts));
    (void)co_await std::move(all);
  };
  auto tuple_form = [&]() -> task<void> {
    auto all = gather(child(), child());
    (void)co_await std::move(all);
  };
  run([&]() -> task<void> {
    const auto start = event_loop::running().now();
    auto v = spawn(vector_form());
    auto t = spawn(tuple_form());
    co_await sleep(5ms);
    v.cancel();
    t.cancel();
    EXPECT_THROW(co_await v, cancelled_error);
    EXPECT_THROW(co_await t, cancelled_error);
    EXPECT_EQ(unwound, 5);
    EXPECT_EQ(event_loop::running().now() - start, 5ms);
  }(), {.virtual_time = true});
}

TEST(gather, outcomes_still_wait_for_every_child_after_a_failure) {
  auto outcomes = run([]() -> task<std::vector<outcome<int>>> {
    std::vector<task<int>> ts;
    ts.push_back(failing_after(1ms, "early"));
    ts.push_back(after(10s, 2));
    co_return co_await gather_outcomes(std::move(ts));
  }(), {.virtual_time = true});
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_FALSE(outcomes[0].has_value());
  EXPECT_EQ(outcomes[1].value(), 2);  // not cancelled: gather_outcomes collects everything
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
