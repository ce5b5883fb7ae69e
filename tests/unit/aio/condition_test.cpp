#include "trident/aio/condition.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <stdexcept>
#include <vector>

#include "trident/aio/run.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/aio/spawn.hpp"

namespace trident::aio {
namespace {

using namespace std::chrono_literals;

task<void> settle() {
  for (int i = 0; i < 4; ++i) co_await sleep(0ms);
}

TEST(condition, wait_for_returns_once_the_predicate_holds_with_the_lock_held) {
  run([]() -> task<void> {
    condition cv;
    std::deque<int> items;
    std::vector<int> got;
    auto consumer = [&]() -> task<void> {
      for (int i = 0; i < 3; ++i) {
        auto g = co_await cv.scoped();
        co_await cv.wait_for([&] { return !items.empty(); });
        EXPECT_TRUE(cv.locked());
        got.push_back(items.front());
        items.pop_front();
      }
    };
    auto h = spawn(consumer());
    for (int v = 1; v <= 3; ++v) {
      co_await settle();
      auto g = co_await cv.scoped();
      items.push_back(v);
      cv.notify();
    }
    co_await h;
    EXPECT_EQ(got, (std::vector<int>{1, 2, 3}));
    EXPECT_FALSE(cv.locked());
  }());
}

TEST(condition, notify_wakes_waiters_in_arrival_order_and_notify_all_wakes_the_rest) {
  run([]() -> task<void> {
    condition cv;
    std::vector<int> order;
    auto waiter = [&](int id) -> task<void> {
      auto g = co_await cv.scoped();
      co_await cv.wait(g);
      order.push_back(id);
    };
    std::vector<task_handle<void>> hs;
    for (int i = 0; i < 4; ++i) {
      hs.push_back(spawn(waiter(i)));
      co_await settle();
    }
    EXPECT_EQ(cv.waiters(), 4u);
    {
      auto g = co_await cv.scoped();
      cv.notify(1);
    }
    co_await hs[0];
    EXPECT_EQ(order, (std::vector<int>{0}));
    {
      auto g = co_await cv.scoped();
      cv.notify_all();
    }
    for (auto& h : hs) co_await h.wait();
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
  }());
}

TEST(condition, notify_without_the_lock_is_a_logic_error) {
  run([]() -> task<void> {
    condition cv;
    EXPECT_THROW(cv.notify(), std::logic_error);
    co_return;
  }());
}

TEST(condition, cancelled_waiter_reacquires_the_lock_before_raising) {
  run([]() -> task<void> {
    condition cv;
    bool held_when_cancelled = false;
    auto waiter = [&]() -> task<void> {
      auto g = co_await cv.scoped();
      try {
        co_await cv.wait();
      } catch (const cancelled_error&) {
        held_when_cancelled = cv.locked() && g.owns_lock();
        throw;
      }
    };
    auto h = spawn(waiter());
    co_await settle();
    auto main_guard = co_await cv.scoped();  // the waiter must wait for this to re-acquire
    h.cancel();
    co_await settle();
    EXPECT_FALSE(h.done());
    main_guard.unlock();
    co_await h.wait();
    EXPECT_TRUE(h.cancelled());
    EXPECT_TRUE(held_when_cancelled);
    EXPECT_FALSE(cv.locked());
  }());
}

// Interleaving: notify(1) picks waiter A; A is cancelled before it runs. The notification must
// reach B instead of being lost.
TEST(condition, notification_to_a_waiter_cancelled_before_it_runs_passes_to_the_next) {
  run([]() -> task<void> {
    condition cv;
    bool b_woke = false;
    auto a_body = [&]() -> task<void> {
      auto g = co_await cv.scoped();
      co_await cv.wait();
    };
    auto b_body = [&]() -> task<void> {
      auto g = co_await cv.scoped();
      co_await cv.wait();
      b_woke = true;
    };
    auto a = spawn(a_body());
    co_await settle();
    auto b = spawn(b_body());
    co_await settle();
    {
      auto g = co_await cv.scoped();
      cv.notify(1);
      a.cancel();
    }
    co_await a.wait();
    EXPECT_TRUE(a.cancelled());
    co_await b;
    EXPECT_TRUE(b_woke);
  }());
}

TEST(condition, can_share_an_external_lock) {
  run([]() -> task<void> {
    lock l;
    condition cv(l);
    EXPECT_EQ(&cv.get_lock(), &l);
    lock other;
    auto g = co_await other.scoped();
    EXPECT_THROW(co_await cv.wait(g), std::logic_error);
  }());
}

}  // namespace
}  // namespace trident::aio
