#include "trident/exec/future.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "trident/exec/thread_pool.hpp"
#include "trident/sync/event.hpp"
#include "worker_blocker.hpp"

namespace trident::exec {
namespace {

using namespace std::chrono_literals;

TEST(future, promise_value_reaches_future_on_another_thread) {
  promise<std::string> p;
  auto f = p.get_future();
  EXPECT_FALSE(f.ready());
  std::thread producer([&] { p.set_value("hello"); });
  EXPECT_EQ(f.get(), "hello");
  producer.join();
}

TEST(future, get_twice_is_a_clear_error) {
  auto f = make_ready_future(5);
  EXPECT_EQ(f.get(), 5);
  EXPECT_FALSE(f.valid());
  EXPECT_THROW(f.get(), future_error);
  future<int> empty;
  EXPECT_THROW(empty.wait(), future_error);
}

TEST(future, broken_promise_is_reported) {
  future<int> f;
  {
    promise<int> p;
    f = p.get_future();
  }
  EXPECT_THROW(f.get(), broken_promise_error);
}

TEST(future, set_twice_throws_and_keeps_first_value) {
  promise<int> p;
  auto f = p.get_future();
  EXPECT_TRUE(p.set_value(1));
  EXPECT_THROW(p.set_value(2), future_error);
  EXPECT_EQ(f.get(), 1);
}

TEST(future, wait_for_times_out_then_succeeds) {
  promise<int> p;
  auto f = p.get_future();
  EXPECT_EQ(f.wait_for(10ms), future_status::timeout);
  EXPECT_EQ(f.wait_until(std::chrono::steady_clock::now()), future_status::timeout);
  EXPECT_THROW(f.get_for(1ms), timeout_error);
  EXPECT_TRUE(f.valid());  // a timed-out get leaves the future usable
  p.set_value(4);
  EXPECT_EQ(f.wait_for(0ms), future_status::ready);
  EXPECT_EQ(f.get(), 4);
}

// std::future users test `wait_for(...) == ready` before `get()`: a task that ended with an
// exception must count as ready too (its state is `failed`), or such a loop would wait forever.
TEST(future, wait_for_reports_ready_for_a_failed_task_as_std_future_does) {
  promise<int> p;
  auto f = p.get_future();
  p.set_exception(std::make_exception_ptr(std::runtime_error("boom")));
  EXPECT_EQ(f.wait_for(0ms), future_status::ready);
  EXPECT_EQ(f.wait_until(std::chrono::steady_clock::now()), future_status::ready);
  EXPECT_EQ(f.status(), future_state::failed);
  EXPECT_THROW(f.get(), std::runtime_error);
}

TEST(future, cancel_promise_backed_future_makes_set_value_report_false) {
  promise<int> p;
  auto f = p.get_future();
  EXPECT_TRUE(f.cancel());
  EXPECT_TRUE(p.is_cancelled());
  EXPECT_FALSE(p.set_value(3));
  EXPECT_THROW(f.get(), cancelled_error);
}

TEST(future, waiting_on_cancelled_future_throws_cancelled_error_without_hanging) {
  thread_pool pool(1);
  testing::worker_blocker blocker(pool);
  auto f = pool.submit([] { return 1; });
  f.cancel();
  EXPECT_EQ(f.wait_for(0ms), future_status::ready);  // already done: cancelled
  EXPECT_NE(f.exception(), nullptr);
  EXPECT_THROW(f.get(), cancelled_error);
  blocker.release();
}

TEST(future, exception_is_visible_without_consuming_the_future) {
  promise<int> p;
  auto f = p.get_future();
  p.set_exception(std::make_exception_ptr(std::runtime_error("boom")));
  EXPECT_EQ(f.status(), future_state::failed);
  ASSERT_NE(f.exception(), nullptr);
  EXPECT_TRUE(f.valid());
  EXPECT_THROW(f.get(), std::runtime_error);
}

TEST(future, timed_wait_inside_pool_worker_runs_other_tasks_and_times_out) {
  thread_pool pool(1);
  promise<int> never;
  auto blocked = never.get_future();
  auto waiter = pool.submit([&] {
    auto helper = thread_pool::current()->submit([] { return 2; });
    // The single worker must run `helper` itself while waiting on `blocked`.
    const bool ready = blocked.wait_for(50ms) == future_status::ready;
    return std::make_pair(ready, helper.get());
  });
  auto [ready, helped] = waiter.get();
  EXPECT_FALSE(ready);
  EXPECT_EQ(helped, 2);
  never.set_value(0);
}

TEST(future, worker_waiting_on_external_promise_wakes_when_it_is_set) {
  thread_pool pool(1);
  promise<int> p;
  auto f = p.get_future();
  sync::event waiting;
  auto waiter = pool.submit([&] {
    waiting.set();
    return f.get() * 2;
  });
  waiting.wait();
  std::thread setter([&] { p.set_value(21); });
  EXPECT_EQ(waiter.get(), 42);
  setter.join();
}

}  // namespace
}  // namespace trident::exec
