#include "trident/aio/run.hpp"
#include "trident/aio/run_in.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <thread>

#include "trident/aio/gather.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/sync/event.hpp"

namespace trident::aio {
namespace {

using namespace std::chrono_literals;

TEST(run_in, blocking_call_runs_on_the_pool_while_the_loop_keeps_going) {
  exec::thread_pool pool(2);
  const auto loop_thread = std::this_thread::get_id();
  int ticks = 0;
  auto ticker = [&]() -> task<int> {
    for (int i = 0; i < 5; ++i) {
      co_await sleep(2ms);
      ++ticks;
    }
    co_return 0;
  };
  auto blocking = [&]() -> task<int> {
    co_return co_await run_in(pool, [&] {
      EXPECT_NE(std::this_thread::get_id(), loop_thread);
      std::this_thread::sleep_for(40ms);  // a blocking call, off the loop
      return 42;
    });
  };
  auto values = run([&]() -> task<std::vector<int>> {
    std::vector<task<int>> ts;
    ts.push_back(blocking());
    ts.push_back(ticker());
    co_return co_await gather(std::move(ts));
  }());
  EXPECT_EQ(values[0], 42);
  EXPECT_EQ(ticks, 5);
}

TEST(run_in, exception_comes_back_to_the_awaiting_task) {
  EXPECT_THROW(
      run([]() -> task<int> { co_return co_await to_thread([]() -> int { throw std::out_of_range("bad"); }); }()),
      std::out_of_range);
}

TEST(run_in, cancelling_the_waiter_resumes_it_without_waiting_for_the_thread) {
  exec::thread_pool pool(1);
  sync::event release;
  auto waiter = [&]() -> task<void> { co_await run_in(pool, [&] { release.wait(); }); };
  run([&]() -> task<void> {
    auto h = spawn(waiter());
    co_await sleep(5ms);
    h.cancel();
    EXPECT_THROW(co_await h, cancelled_error);
  }());
  release.set();  // the call finishes after its awaiter left; its result is dropped
}

}  // namespace
}  // namespace trident::aio
