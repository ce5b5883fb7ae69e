#include "trident/aio/wrap_future.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <thread>

#include "trident/aio/run.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/aio/spawn.hpp"
#include "trident/exec/thread_pool.hpp"
#include "trident/sync/event.hpp"

namespace trident::aio {
namespace {

using namespace std::chrono_literals;

TEST(wrap_future, a_ready_future_gives_its_value_without_suspending) {
  const int v = run([]() -> task<int> {
    const auto steps_before = event_loop::running().statistics().steps;
    auto ready = wrap_future(exec::make_ready_future(7));
    const int got = co_await ready;
    EXPECT_EQ(event_loop::running().statistics().steps, steps_before);  // no trip through the loop
    co_return got;
  }());
  EXPECT_EQ(v, 7);
}

TEST(wrap_future, a_future_completed_later_on_another_thread_resumes_the_task_on_the_loop_thread) {
  exec::promise<std::string> p;
  auto f = p.get_future();
  trident::sync::event awaiting;  // set once the waiter is suspended, so the value really arrives later
  std::thread producer([&] {
    awaiting.wait();
    p.set_value("from a thread");
  });
  const auto loop_thread = std::this_thread::get_id();
  // Named: a spawned coroutine lambda must outlive its frame (it holds the captures).
  auto wait_for_it = [&]() -> task<std::string> {
    auto pending = wrap_future(std::move(f));
    std::string s = co_await pending;
    EXPECT_EQ(std::this_thread::get_id(), loop_thread);
    co_return s;
  };
  const std::string got = run([&]() -> task<std::string> {
    auto waiter = spawn(wait_for_it());
    co_await sleep(0ms);  // the waiter runs up to its co_await and suspends
    awaiting.set();
    co_return co_await waiter;
  }());
  producer.join();
  EXPECT_EQ(got, "from a thread");
}

TEST(wrap_future, an_exceptional_future_rethrows_in_the_awaiting_task) {
  exec::promise<int> p;
  auto f = p.get_future();
  p.set_exception(std::make_exception_ptr(std::out_of_range("no such item")));
  EXPECT_THROW(run([&]() -> task<int> {
                 auto failed = wrap_future(std::move(f));
                 co_return co_await failed;
               }()),
               std::out_of_range);
}

TEST(wrap_future, a_future_of_void_resumes_the_task) {
  exec::thread_pool pool(1);
  bool ran = false;
  run([&]() -> task<void> {
    auto done = wrap_future(pool.submit([&] { ran = true; }));
    co_await done;
  }());
  EXPECT_TRUE(ran);
}

/// A pool task that has started and runs until `finish()`: cancelling its future can no longer
/// withdraw it, so its completion comes after the awaiting task gave up.
struct started_task {
  exec::thread_pool pool{1};
  trident::sync::event started;
  trident::sync::event release;
  exec::future<int> result = pool.submit([this] {
    started.set();
    release.wait();
    return 5;
  });
  started_task() { started.wait(); }
  ~started_task() { release.set(); }  // before the pool drains
  void finish() {
    release.set();
    pool.shutdown();
  }
};

/// Spawns a task awaiting `f`, cancels it while it waits, and checks it ended with
/// cancelled_error; its frame is gone when this returns.
task<void> cancel_while_awaiting(exec::future<int>& f) {
  auto wait_for_it = [&]() -> task<int> {
    auto pending = wrap_future(std::move(f));
    co_return co_await pending;
  };
  auto waiter = spawn(wait_for_it());
  co_await sleep(0ms);  // the waiter runs up to its co_await and suspends
  waiter.cancel();
  EXPECT_THROW(co_await waiter, cancelled_error);
}

TEST(wrap_future, cancelling_the_awaiting_task_resumes_it_and_a_later_completion_touches_nothing_freed) {
  started_task work;
  run([&]() -> task<void> {
    auto cancelled = cancel_while_awaiting(work.result);  // named: g++ 12 and temporaries in co_await (docs/aio.md)
    co_await cancelled;
    work.finish();  // completes now, while the loop still runs: its post finds no waiter
  }());
}

TEST(wrap_future, a_future_completed_after_its_loop_ended_is_dropped_safely) {
  started_task work;
  run(cancel_while_awaiting(work.result));
  work.finish();  // the loop is destroyed: the continuation's post is dropped
}

TEST(wrap_future, cancelling_the_awaiting_task_withdraws_a_task_that_has_not_started) {
  exec::thread_pool pool(1);
  trident::sync::event release;
  auto blocker = pool.submit([&] { release.wait(); });
  std::atomic<bool> ran{false};
  auto queued = pool.submit([&] { ran = true; });
  // Named: a spawned coroutine lambda must outlive its frame (it holds the captures).
  auto wait_for_it = [&]() -> task<void> {
    auto pending = wrap_future(std::move(queued));
    co_await pending;
  };
  run([&]() -> task<void> {
    auto waiter = spawn(wait_for_it());
    co_await sleep(0ms);
    waiter.cancel();
    EXPECT_THROW(co_await waiter, cancelled_error);
  }());
  release.set();
  pool.shutdown();
  EXPECT_FALSE(ran);
}

}  // namespace
}  // namespace trident::aio
