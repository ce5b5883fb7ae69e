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
    run(
        [&]() -> task<std::vector<int>> {
          std::vector<task<int>> ts;
          ts.push_back(slow());
          ts.push_back(failing_after(10ms, "second"));
          ts.push_back(failing_after(1ms, "third"));
          co_return co_await gather(std::move(ts));
        }(),
        {.virtual_time = true});
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
  run(
      [&]() -> task<void> {
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
      }(),
      {.virtual_time = true});
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
  run(
      [&]() -> task<void> {
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
      }(),
      {.virtual_time = true});
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
  run(
      [&]() -> task<void> {
        const auto start = event_loop::running().now();
        std::vector<task<int>> ts;
        ts.push_back(stubborn());
        ts.push_back(failing_after(30ms, "failed at 30 ms"));
        auto all = gather(std::move(ts));
        EXPECT_THROW((void)co_await std::move(all), std::runtime_error);
        EXPECT_TRUE(stubborn_finished);
        EXPECT_EQ(event_loop::running().now() - start, 80ms);
      }(),
      {.virtual_time = true});
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
  run(
      [&]() -> task<void> {
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
      }(),
      {.virtual_time = true});
}

TEST(gather, outcomes_still_wait_for_every_child_after_a_failure) {
  auto outcomes = run(
      []() -> task<std::vector<outcome<int>>> {
        std::vector<task<int>> ts;
        ts.push_back(failing_after(1ms, "early"));
        ts.push_back(after(10s, 2));
        co_return co_await gather_outcomes(std::move(ts));
      }(),
      {.virtual_time = true});
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

// Children start on the gathering task's thread at once, in input order, each running until it
// first suspends before the next starts; the gathering task goes on only when they have all
// ended (or suspended).
TEST(gather, children_start_at_once_in_input_order) {
  std::vector<int> log;
  auto child = [&](int i, bool suspends) -> task<int> {
    log.push_back(i);
    if (suspends) co_await sleep(std::chrono::milliseconds(1));
    log.push_back(10 + i);
    co_return i;
  };
  auto values = run([&]() -> task<std::vector<int>> {
    std::vector<task<int>> ts;
    ts.push_back(child(1, false));
    ts.push_back(child(2, true));
    ts.push_back(child(3, false));
    auto all = gather(std::move(ts));
    auto v = co_await std::move(all);
    co_return v;
  }());
  EXPECT_EQ(values, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(log, (std::vector<int>{1, 11, 2, 3, 13, 12}));
}

// A child that fails while the children start (before any suspends) cancels the siblings: the
// ones not started yet never run their bodies, and gather raises the failure.
TEST(gather, a_failure_while_starting_keeps_later_children_from_running) {
  int bodies = 0;
  auto ok = [&]() -> task<int> {
    ++bodies;
    co_await sleep(std::chrono::seconds(10));
    co_return 0;
  };
  auto fails = []() -> task<int> {
    throw std::runtime_error("at once");
    co_return 0;
  };
  run([&]() -> task<void> {
    std::vector<task<int>> ts;
    ts.push_back(ok());
    ts.push_back(fails());
    ts.push_back(ok());
    ts.push_back(ok());
    auto all = gather(std::move(ts));
    EXPECT_THROW((void)co_await std::move(all), std::runtime_error);
  }());
  EXPECT_EQ(bodies, 1);  // only the child before the failing one started
}

// A gather whose children all end while starting does not suspend, and still raises a
// cancellation of the gathering task once: the request is consumed, as at any suspension.
TEST(gather, children_that_end_at_once_still_honour_a_pending_cancellation_once) {
  int bodies = 0;
  auto quick = [&]() -> task<int> {
    ++bodies;
    co_return 1;
  };
  std::shared_ptr<task_handle<void>> self = std::make_shared<task_handle<void>>();
  bool slept_after = false;
  auto gatherer = [&]() -> task<void> {
    self->cancel();
    std::vector<task<int>> ts;
    for (int i = 0; i < 3; ++i) ts.push_back(quick());
    auto all = gather(std::move(ts));
    EXPECT_THROW((void)co_await std::move(all), cancelled_error);
    co_await sleep(std::chrono::milliseconds(1));  // the request was consumed: no second cancellation here
    slept_after = true;
  };
  run([&]() -> task<void> {
    *self = spawn(gatherer());
    co_await *self;
  }());
  EXPECT_EQ(bodies, 0);
  EXPECT_TRUE(slept_after);
}

}  // namespace
}  // namespace trident::aio
