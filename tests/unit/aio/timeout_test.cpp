#include "trident/aio/run.hpp"
#include "trident/aio/timeout.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include "trident/aio/semaphore.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/aio/spawn.hpp"

namespace trident::aio {
namespace {

using namespace std::chrono_literals;

task<int> slow(std::chrono::milliseconds d) {
  co_await sleep(d);
  co_return 5;
}

TEST(wait_for, returns_the_value_when_in_time) { EXPECT_EQ(run(wait_for(slow(1ms), 1s)), 5); }

TEST(wait_for, times_out_cancels_the_task_and_throws_timeout_error) {
  bool cleaned = false;
  auto guarded = [&]() -> task<int> {
    struct on_exit {
      bool* flag;
      ~on_exit() { *flag = true; }
    } guard{&cleaned};
    co_await sleep(10s);
    co_return 1;
  };
  const auto start = clock::now();
  EXPECT_THROW(run(wait_for(guarded(), 20ms)), timeout_error);
  EXPECT_TRUE(cleaned);  // the task was cancelled and unwound, not abandoned
  EXPECT_LT(clock::now() - start, 5s);
}

}  // namespace
}  // namespace trident::aio

namespace trident::aio {
namespace {

using namespace std::chrono_literals;

constexpr loop_options virtual_clock{.virtual_time = true};

task<int> value_after(std::chrono::milliseconds d, int v) {
  co_await sleep(d);
  co_return v;
}

TEST(timeout_scope, returns_the_value_when_the_body_finishes_in_time) {
  EXPECT_EQ(run(timeout(200ms, value_after(1ms, 5)), virtual_clock), 5);
}

TEST(timeout_scope, raises_timeout_error_when_the_deadline_passes) {
  EXPECT_THROW(run(timeout(5ms, value_after(10s, 5)), virtual_clock), timeout_error);
}

TEST(timeout_scope, the_task_goes_on_after_a_timeout_and_is_not_cancelled_later) {
  const int v = run(
      []() -> task<int> {
        try {
          co_await timeout(5ms, value_after(10s, 1));
        } catch (const timeout_error&) {}
        co_return co_await value_after(2ms, 9);  // would throw if a cancellation were left pending
      }(),
      virtual_clock);
  EXPECT_EQ(v, 9);
}

task<void> hold_semaphore(semaphore& sem, int* released) {
  auto permit = co_await sem.hold();
  struct on_exit {
    int* n;
    ~on_exit() { ++*n; }
  } count{released};
  co_await sleep(10s);
}

TEST(timeout_scope, a_timeout_releases_a_semaphore_the_body_holds) {
  int released = 0;
  const bool reacquired = run(
      [](int* counter) -> task<bool> {
        semaphore sem(1);
        try {
          co_await timeout(5ms, hold_semaphore(sem, counter));
        } catch (const timeout_error&) {}
        co_return sem.try_acquire();
      }(&released),
      virtual_clock);
  EXPECT_EQ(released, 1);
  EXPECT_TRUE(reacquired);
}

TEST(timeout_scope, outer_cancellation_stays_a_cancellation) {
  const bool cancelled = run(
      []() -> task<bool> {
        auto h = spawn(timeout(10s, value_after(10s, 1)));
        co_await sleep(1ms);
        h.cancel();
        try {
          (void)co_await h;
        } catch (const cancelled_error&) {
          co_return true;
        }
        co_return false;
      }(),
      virtual_clock);
  EXPECT_TRUE(cancelled);
}

}  // namespace
}  // namespace trident::aio
