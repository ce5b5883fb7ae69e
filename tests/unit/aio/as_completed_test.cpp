#include "trident/aio/as_completed.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "trident/aio/run.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/aio/spawn.hpp"
#include "trident/aio/timeout.hpp"

namespace trident::aio {
namespace {

using namespace std::chrono_literals;

// Timers only: virtual time makes the finishing order exact on any machine.
constexpr loop_options virtual_clock{.virtual_time = true};

task<int> after(std::chrono::milliseconds d, int v) {
  co_await sleep(d);
  co_return v;
}

task<int> failing_after(std::chrono::milliseconds d) {
  co_await sleep(d);
  throw std::runtime_error("boom");
}

TEST(as_completed, hands_tasks_back_in_finishing_order) {
  auto order = run(
      []() -> task<std::vector<int>> {
        std::vector<task<int>> ts;
        ts.push_back(after(60ms, 1));
        ts.push_back(after(10ms, 2));
        ts.push_back(after(35ms, 3));
        auto completed = as_completed(std::move(ts));
        EXPECT_EQ(completed.remaining(), 3u);
        std::vector<int> seen;
        while (auto done = co_await completed.next()) {
          EXPECT_TRUE(done->done());
          seen.push_back(co_await *done);
        }
        EXPECT_EQ(completed.remaining(), 0u);
        co_return seen;
      }(),
      virtual_clock);
  EXPECT_EQ(order, (std::vector<int>{2, 3, 1}));
}

TEST(as_completed, a_failed_task_is_returned_and_the_rest_still_come) {
  auto result = run(
      []() -> task<std::vector<std::string>> {
        std::vector<task<int>> ts;
        ts.push_back(after(30ms, 7));
        ts.push_back(failing_after(5ms));
        auto completed = as_completed(std::move(ts));
        std::vector<std::string> seen;
        while (auto done = co_await completed.next()) {
          try {
            seen.push_back(std::to_string(co_await *done));
          } catch (const std::runtime_error& e) {
            seen.push_back(e.what());
          }
        }
        co_return seen;
      }(),
      virtual_clock);
  EXPECT_EQ(result, (std::vector<std::string>{"boom", "7"}));
}

TEST(as_completed, empty_input_ends_at_once) {
  const bool ended = run(
      []() -> task<bool> {
        auto completed = as_completed(std::vector<task<int>>{});
        co_return !(co_await completed.next()).has_value();
      }(),
      virtual_clock);
  EXPECT_TRUE(ended);
}

TEST(as_completed, cancelling_the_reader_loses_no_handle) {
  auto values = run(
      []() -> task<std::vector<int>> {
        std::vector<task<int>> ts;
        ts.push_back(after(40ms, 1));
        ts.push_back(after(20ms, 2));
        auto completed = as_completed(std::move(ts));
        // The first wait times out before any task has finished: the reader is cancelled.
        bool timed_out = false;
        try {
          (void)co_await wait_for(completed.next(), 5ms);
        } catch (const timeout_error&) {
          timed_out = true;
        }
        EXPECT_TRUE(timed_out);
        std::vector<int> seen;
        while (auto done = co_await completed.next()) seen.push_back(co_await *done);
        co_return seen;
      }(),
      virtual_clock);
  EXPECT_EQ(values, (std::vector<int>{2, 1}));
}

task<void> count_cancellation(int* cancelled) {
  try {
    co_await sleep(10s);
  } catch (const cancelled_error&) {
    ++*cancelled;
    throw;
  }
}

TEST(as_completed, dropping_the_order_cancels_the_tasks_not_returned) {
  int cancelled = 0;
  run(
      [](int* counter) -> task<void> {
        {
          std::vector<task<void>> ts;
          ts.push_back(count_cancellation(counter));
          ts.push_back(count_cancellation(counter));
          auto completed = as_completed(std::move(ts));
          co_await sleep(1ms);  // both are asleep now
        }
        co_await sleep(1ms);  // their cancellation runs
      }(&cancelled),
      virtual_clock);
  EXPECT_EQ(cancelled, 2);
}

}  // namespace
}  // namespace trident::aio
