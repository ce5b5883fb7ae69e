#include "trident/aio/run.hpp"
#include "trident/aio/task.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "trident/aio/event_loop.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/aio/spawn.hpp"

#include <chrono>
#include <thread>

namespace trident::aio {
namespace {

task<int> forty_two() { co_return 42; }

task<int> add(int a, int b) { co_return co_await forty_two() - 42 + a + b; }

task<void> fail() {
  throw std::runtime_error("from a coroutine");
  co_return;
}

TEST(task, is_lazy_and_returns_its_value_when_awaited) {
  bool ran = false;
  auto body = [&]() -> task<int> {
    ran = true;
    co_return 7;
  };
  auto t = body();
  EXPECT_FALSE(ran);
  EXPECT_EQ(run(std::move(t)), 7);
  EXPECT_TRUE(ran);
  EXPECT_EQ(run(add(2, 3)), 5);
}

TEST(task, exception_reaches_the_awaiter_with_type_and_message) {
  auto outer = []() -> task<std::string> {
    try {
      co_await fail();
    } catch (const std::runtime_error& e) {
      co_return e.what();
    }
    co_return "no exception";
  };
  EXPECT_EQ(run(outer()), "from a coroutine");
  EXPECT_THROW(run(fail()), std::runtime_error);
}

TEST(task, awaiting_a_task_twice_is_a_clear_error) {
  auto twice = []() -> task<void> {
    auto t = forty_two();
    co_await t;
    co_await t;
  };
  EXPECT_THROW(run(twice()), std::logic_error);
}

task<long> chain(int depth) {
  if (depth == 0) co_return 0;
  co_return 1 + co_await chain(depth - 1);
}

TEST(task, deep_await_chains_do_not_overflow_the_stack) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // g++'s sanitizer instrumentation keeps it from emitting symmetric transfer as a tail call,
  // so each level costs a native frame there; check the chain at a depth that fits.
  constexpr int depth = 2'000;
#else
  // Symmetric transfer: 100,000 nested awaits resume without growing the native stack, also at
  // -O0 (the build adds -foptimize-sibling-calls for g++).
  constexpr int depth = 100'000;
#endif
  EXPECT_EQ(run(chain(depth)), depth);
}

TEST(task, running_a_loop_inside_a_running_loop_is_a_clear_error) {
  auto nested = []() -> task<void> {
    event_loop inner;
    run_until_complete(inner, forty_two());
    co_return;
  };
  EXPECT_THROW(run(nested()), std::logic_error);
}

}  // namespace
}  // namespace trident::aio

namespace trident::aio {
namespace {

TEST(event_loop, debug_mode_names_a_task_that_blocks_the_loop) {
  auto blocker = []() -> task<void> {
    co_await sleep(std::chrono::milliseconds(0));
    std::this_thread::sleep_for(std::chrono::milliseconds(60));  // a blocking call in a coroutine
  };
  testing::internal::CaptureStderr();
  event_loop loop;
  loop.set_debug(true, std::chrono::milliseconds(20));
  run_until_complete(loop, [&]() -> task<void> {
    auto h = spawn(blocker(), "slow-parser");
    co_await h;
  }());
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("task 'slow-parser' blocked the event loop"), std::string::npos) << err;
  EXPECT_GE(loop.statistics().longest_step, std::chrono::milliseconds(60));
}

// Debug mode switched on while coroutines are already queued: those are reported without a
// name, and tasks queued afterwards are named.
TEST(event_loop, debug_mode_switched_on_while_tasks_are_queued_names_the_later_ones) {
  auto blocker = []() -> task<void> {
    co_await sleep(std::chrono::milliseconds(0));
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
  };
  auto queued = []() -> task<void> { co_return; };
  testing::internal::CaptureStderr();
  event_loop loop;
  run_until_complete(loop, [&]() -> task<void> {
    std::vector<task_handle<void>> early;
    for (int i = 0; i < 5; ++i) early.push_back(spawn(queued(), "early"));
    event_loop::running().set_debug(true, std::chrono::milliseconds(20));
    auto h = spawn(blocker(), "late-blocker");
    co_await h;
    for (auto& e : early) co_await e;
  }());
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("task 'late-blocker' blocked the event loop"), std::string::npos) << err;
}

}  // namespace
}  // namespace trident::aio
