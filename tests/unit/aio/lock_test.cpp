#include "trident/aio/lock.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <vector>

#include "trident/aio/gather.hpp"
#include "trident/aio/run.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/aio/spawn.hpp"
#include "trident/aio/timeout.hpp"

namespace trident::aio {
namespace {

using namespace std::chrono_literals;

task<void> settle() {
  for (int i = 0; i < 4; ++i) co_await sleep(0ms);
}

TEST(lock, scoped_guard_excludes_other_tasks_across_suspensions) {
  int shared = 0;
  lock* l = nullptr;
  auto add = [&]() -> task<int> {
    auto guard = co_await l->scoped();
    const int v = shared;
    co_await sleep(0ms);  // others run here, but cannot enter
    shared = v + 1;
    co_return 0;
  };
  run([&]() -> task<void> {
    lock lk;
    l = &lk;
    std::vector<task<int>> ts;
    for (int i = 0; i < 10; ++i) ts.push_back(add());
    co_await gather(std::move(ts));
    EXPECT_FALSE(lk.locked());
  }());
  EXPECT_EQ(shared, 10);
}

TEST(lock, acquire_release_and_try_acquire) {
  run([]() -> task<void> {
    lock l;
    EXPECT_FALSE(l.locked());
    co_await l.acquire();
    EXPECT_TRUE(l.locked());
    EXPECT_FALSE(l.try_acquire());
    l.release();
    EXPECT_FALSE(l.locked());
    EXPECT_THROW(l.release(), std::logic_error);
  }());
}

TEST(lock, waiters_get_the_lock_in_arrival_order) {
  std::vector<int> order;
  lock* l = nullptr;
  auto waiter = [&](int id) -> task<void> {
    auto g = co_await l->scoped();
    order.push_back(id);
  };
  run([&]() -> task<void> {
    lock lk;
    l = &lk;
    co_await lk.acquire();
    std::vector<task_handle<void>> hs;
    for (int i = 0; i < 4; ++i) {
      hs.push_back(spawn(waiter(i)));
      co_await sleep(0ms);
    }
    EXPECT_EQ(lk.waiters(), 4u);
    lk.release();
    for (auto& h : hs) co_await h;
  }());
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
}

TEST(lock, cancelled_waiter_leaves_the_queue_and_the_next_one_gets_the_lock) {
  bool third_got_it = false;
  lock* l = nullptr;
  auto waiter = [&]() -> task<void> { auto g = co_await l->scoped(); };
  auto third = [&]() -> task<void> {
    auto g = co_await l->scoped();
    third_got_it = true;
  };
  run([&]() -> task<void> {
    lock lk;
    l = &lk;
    co_await lk.acquire();
    auto a = spawn(waiter());
    auto b = spawn(third());
    co_await settle();
    a.cancel();
    co_await a.wait();
    EXPECT_TRUE(a.cancelled());
    EXPECT_EQ(lk.waiters(), 1u);
    lk.release();
    co_await b;
    EXPECT_FALSE(lk.locked());
  }());
  EXPECT_TRUE(third_got_it);
}

TEST(lock, cancellation_after_hand_off_does_not_leave_the_lock_held) {
  lock* l = nullptr;
  auto waiter = [&]() -> task<void> { auto g = co_await l->scoped(); };
  run([&]() -> task<void> {
    lock lk;
    l = &lk;
    co_await lk.acquire();
    auto a = spawn(waiter());
    co_await settle();
    lk.release();  // handed to a
    a.cancel();    // before a runs
    co_await a.wait();
    EXPECT_TRUE(a.cancelled());
    EXPECT_FALSE(lk.locked());
  }());
}

TEST(lock, timeout_inside_the_critical_section_unlocks) {
  run([]() -> task<void> {
    lock lk;
    auto holder = [&]() -> task<int> {
      auto g = co_await lk.scoped();
      co_await sleep(1h);
      co_return 0;
    };
    EXPECT_THROW(co_await wait_for(holder(), 5ms), timeout_error);
    EXPECT_FALSE(lk.locked());
  }());
}

TEST(lock, guard_moves_and_unlocks_once) {
  run([]() -> task<void> {
    lock lk;
    lock_guard g = co_await lk.scoped();
    lock_guard h = std::move(g);
    EXPECT_TRUE(h.owns_lock());
    EXPECT_EQ(h.mutex(), &lk);
    h.unlock();
    EXPECT_FALSE(lk.locked());
    h.unlock();
  }());
}

}  // namespace
}  // namespace trident::aio
