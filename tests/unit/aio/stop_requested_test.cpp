// aio::stop_requested: a task waits on the loop for a std::stop_token — asked to stop by another
// thread, or by a signal through trident::stop_signals.

#include "trident/aio/stop_requested.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <stop_token>
#include <string>
#include <thread>

#include "trident/aio/run.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/aio/spawn.hpp"
#include "trident/core/errors.hpp"
#include "trident/core/stop_signals.hpp"
#include "trident/sync/event.hpp"

namespace trident::aio {
namespace {

using namespace std::chrono_literals;

TEST(stop_requested, a_token_already_asked_to_stop_does_not_suspend) {
  std::stop_source source;
  source.request_stop();
  const bool done = run([&]() -> task<bool> {
    const auto steps_before = event_loop::running().statistics().steps;
    auto stopped = stop_requested(source.get_token());
    co_await stopped;
    co_return event_loop::running().statistics().steps == steps_before;  // no trip through the loop
  }());
  EXPECT_TRUE(done);
}

TEST(stop_requested, a_stop_requested_on_another_thread_resumes_the_task_on_its_loop_thread) {
  std::stop_source source;
  trident::sync::event waiting;  // set once the waiter is suspended, so the stop really comes later
  std::thread requester([&] {
    waiting.wait();
    source.request_stop();
  });
  const auto loop_thread = std::this_thread::get_id();
  std::thread::id resumed_on;
  bool other_task_ran = false;
  auto waiter = [&]() -> task<void> {
    auto stopped = stop_requested(source.get_token());
    co_await stopped;
    resumed_on = std::this_thread::get_id();
  };
  run([&]() -> task<void> {
    auto w = spawn(waiter(), "waiter");
    co_await sleep(0ms);  // the waiter runs up to its co_await and suspends
    EXPECT_FALSE(w.done());
    other_task_ran = true;  // the loop is free meanwhile
    waiting.set();
    co_await w;
  }());
  requester.join();
  EXPECT_TRUE(other_task_ran);
  EXPECT_EQ(resumed_on, loop_thread);
}

TEST(stop_requested, cancelling_the_waiter_raises_cancelled_error_and_leaves_the_token_alone) {
  std::stop_source source;
  std::string outcome;
  auto waiter = [&]() -> task<void> {
    try {
      auto stopped = stop_requested(source.get_token());
      co_await stopped;
      outcome = "resumed";
    } catch (const cancelled_error&) {
      outcome = "cancelled";
    }
  };
  run([&]() -> task<void> {
    auto w = spawn(waiter(), "waiter");
    co_await sleep(0ms);
    w.cancel();
    co_await w.wait();
  }());
  EXPECT_EQ(outcome, "cancelled");
  EXPECT_FALSE(source.stop_requested());
  EXPECT_TRUE(source.request_stop());  // its callback was unregistered: nothing left to wake
}

TEST(stop_requested, a_stop_after_the_loop_ended_wakes_nothing) {
  std::stop_source source;
  bool resumed = false;
  auto waiter = [&]() -> task<void> {
    auto stopped = stop_requested(source.get_token());
    co_await stopped;
    resumed = true;
  };
  run([&]() -> task<void> {
    spawn(waiter(), "left waiting");  // run() cancels it when main ends
    co_await sleep(0ms);
  }());
  std::thread late([&] { source.request_stop(); });
  late.join();
  EXPECT_FALSE(resumed);
}

TEST(stop_requested, a_token_that_can_never_stop_waits_until_cancelled) {
  bool cancelled = false;
  run([&]() -> task<void> {
    auto forever = [&]() -> task<void> {
      try {
        auto stopped = stop_requested(std::stop_token{});
        co_await stopped;
      } catch (const cancelled_error&) {
        cancelled = true;
      }
    };
    auto w = spawn(forever(), "forever");
    co_await sleep(10ms);
    EXPECT_FALSE(w.done());
    w.cancel();
    co_await w.wait();
  }());
  EXPECT_TRUE(cancelled);
}

/// tokio's `signal::ctrl_c().await`: a task of the loop waits for the first stop signal.
TEST(stop_requested, a_stop_signal_resumes_a_task_waiting_on_the_loop) {
  stop_signals signals;
  auto serve = [&]() -> task<void> {
    for (;;) co_await sleep(1ms);
  };
  const int got = run([&]() -> task<int> {
    auto server = spawn(serve(), "serve");
    auto ctrl_c = [&]() -> task<void> {
      co_await sleep(5ms);
      ::raise(SIGINT);  // as if the user pressed Ctrl-C while the loop runs
    };
    auto press = spawn(ctrl_c(), "ctrl-c");
    auto stopped = stop_requested(signals.token());
    co_await stopped;
    server.cancel();
    co_await server.wait();
    co_await press;
    co_return signals.received();
  }());
  EXPECT_EQ(got, SIGINT);
}

}  // namespace
}  // namespace trident::aio
