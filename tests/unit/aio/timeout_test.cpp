#include "trident/aio/timeout.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include "trident/aio/sleep.hpp"

namespace trident::aio {
namespace {

using namespace std::chrono_literals;

task<int> slow(std::chrono::milliseconds d) {
  co_await sleep(d);
  co_return 5;
}

TEST(wait_for, returns_the_value_when_in_time) {
  EXPECT_EQ(run(wait_for(slow(1ms), 1s)), 5);
}

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
