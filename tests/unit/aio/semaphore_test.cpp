#include "trident/aio/run.hpp"
#include "trident/aio/semaphore.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "trident/aio/gather.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/aio/spawn.hpp"
#include "trident/aio/timeout.hpp"

namespace trident::aio {
namespace {

using namespace std::chrono_literals;

// Lets every ready task run until it blocks again. The length does not matter: 0 ms yields one
// loop step, so this yields a few times.
task<void> settle() {
  for (int i = 0; i < 4; ++i) co_await sleep(0ms);
}

TEST(semaphore, try_acquire_takes_free_permits_and_release_returns_them) {
  run([]() -> task<void> {
    semaphore sem(2);
    EXPECT_TRUE(sem.try_acquire());
    EXPECT_TRUE(sem.try_acquire());
    EXPECT_FALSE(sem.try_acquire());
    EXPECT_TRUE(sem.locked());
    sem.release();
    EXPECT_EQ(sem.available(), 1u);
    co_await sem.acquire();
    EXPECT_EQ(sem.available(), 0u);
    sem.release();
    sem.release();
    EXPECT_EQ(sem.available(), 2u);
  }());
}

TEST(semaphore, waiters_are_served_in_fifo_order) {
  std::vector<int> order;
  semaphore* sem = nullptr;
  auto waiter = [&](int id) -> task<void> {
    co_await sem->acquire();
    order.push_back(id);
    sem->release();
  };
  run([&]() -> task<void> {
    semaphore s(0);
    sem = &s;
    std::vector<task_handle<void>> hs;
    for (int i = 0; i < 5; ++i) {
      hs.push_back(spawn(waiter(i)));
      co_await sleep(0ms);  // each one queues before the next starts
    }
    EXPECT_EQ(s.waiters(), 5u);
    s.release();
    for (auto& h : hs) co_await h;
    EXPECT_EQ(s.available(), 1u);
  }());
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(semaphore, release_hands_the_permit_to_the_waiter_without_barging) {
  bool got = false;
  semaphore* sem = nullptr;
  auto waiter = [&]() -> task<void> {
    co_await sem->acquire();
    got = true;
  };
  run([&]() -> task<void> {
    semaphore s(0);
    sem = &s;
    auto h = spawn(waiter());
    co_await settle();
    s.release();
    // The waiter has not run yet, but the permit is already its own.
    EXPECT_FALSE(got);
    EXPECT_EQ(s.available(), 0u);
    EXPECT_FALSE(s.try_acquire());
    co_await h;
    EXPECT_TRUE(got);
    EXPECT_EQ(s.available(), 0u);  // the waiter kept it
  }());
}

TEST(semaphore, cancelling_a_waiting_acquire_removes_it_and_the_others_are_still_served) {
  std::vector<int> served;
  semaphore* sem = nullptr;
  auto waiter = [&](int id) -> task<void> {
    auto permit = co_await sem->hold();
    served.push_back(id);
  };
  run([&]() -> task<void> {
    semaphore s(0);
    sem = &s;
    auto a = spawn(waiter(1));
    auto b = spawn(waiter(2));
    auto c = spawn(waiter(3));
    co_await settle();
    EXPECT_EQ(s.waiters(), 3u);
    b.cancel();
    co_await b.wait();
    EXPECT_TRUE(b.cancelled());
    EXPECT_EQ(s.waiters(), 2u);
    s.release();
    co_await a;
    co_await c;
    EXPECT_EQ(s.available(), 1u);  // no permit lost or invented
  }());
  EXPECT_EQ(served, (std::vector<int>{1, 3}));
}

// Interleaving: release() hands the permit to waiter A (A is scheduled, not yet resumed); A is
// cancelled before it runs. A must raise cancelled_error and pass the permit to B.
TEST(semaphore, waiter_cancelled_after_the_permit_was_handed_to_it_passes_it_on) {
  bool b_got = false;
  semaphore* sem = nullptr;
  auto a_body = [&]() -> task<void> { co_await sem->acquire(); };
  auto b_body = [&]() -> task<void> {
    co_await sem->acquire();
    b_got = true;
    sem->release();
  };
  run([&]() -> task<void> {
    semaphore s(0);
    sem = &s;
    auto a = spawn(a_body());
    co_await sleep(0ms);
    auto b = spawn(b_body());
    co_await settle();
    s.release();  // to a
    a.cancel();   // before a resumes
    co_await a.wait();
    EXPECT_TRUE(a.cancelled());
    co_await b;
    EXPECT_TRUE(b_got);
    EXPECT_EQ(s.available(), 1u);
  }());
}

TEST(semaphore, waiter_cancelled_after_hand_off_with_nobody_behind_returns_the_permit_to_the_count) {
  semaphore* sem = nullptr;
  auto body = [&]() -> task<void> { co_await sem->acquire(); };
  run([&]() -> task<void> {
    semaphore s(0);
    sem = &s;
    auto a = spawn(body());
    co_await settle();
    s.release();
    a.cancel();
    co_await a.wait();
    EXPECT_TRUE(a.cancelled());
    EXPECT_EQ(s.available(), 1u);
  }());
}

TEST(semaphore, acquire_with_a_pending_cancellation_raises_and_takes_no_permit) {
  semaphore* sem = nullptr;
  task_handle<void> self;
  bool raised = false;
  auto body = [&]() -> task<void> {
    co_await sleep(0ms);  // until `self` is set
    self.cancel();        // pending: this task is running, not suspended
    try {
      co_await sem->acquire();
    } catch (const cancelled_error&) {
      raised = true;
    }
    EXPECT_EQ(sem->available(), 1u);
    co_await sem->acquire();  // the request was consumed: this one succeeds
    sem->release();
  };
  run([&]() -> task<void> {
    semaphore s(1);
    sem = &s;
    self = spawn(body());
    co_await self;
    EXPECT_EQ(s.available(), 1u);
  }());
  EXPECT_TRUE(raised);
}

TEST(semaphore, timeout_while_holding_a_permit_releases_it) {
  run([]() -> task<void> {
    semaphore s(2);
    auto holder = [&]() -> task<int> {
      auto permit = co_await s.hold();
      EXPECT_EQ(s.available(), 1u);
      co_await sleep(1h);  // never finishes in time
      co_return 1;
    };
    EXPECT_THROW(co_await wait_for(holder(), 10ms), timeout_error);
    EXPECT_EQ(s.available(), 2u);
    EXPECT_EQ(s.waiters(), 0u);
  }());
}

TEST(semaphore, timeout_while_waiting_for_a_permit_leaves_no_waiter_behind) {
  run([]() -> task<void> {
    semaphore s(0);
    auto waiter = [&]() -> task<int> {
      auto permit = co_await s.hold();
      co_return 1;
    };
    EXPECT_THROW(co_await wait_for(waiter(), 5ms), timeout_error);
    EXPECT_EQ(s.waiters(), 0u);
    s.release();
    EXPECT_EQ(s.available(), 1u);
  }());
}

TEST(semaphore, bounds_the_number_of_tasks_inside) {
  int inside = 0;
  int most = 0;
  semaphore* sem = nullptr;
  auto worker = [&]() -> task<int> {
    auto permit = co_await sem->hold();
    most = std::max(most, ++inside);
    co_await sleep(0ms);
    co_await sleep(0ms);
    --inside;
    co_return 1;
  };
  run([&]() -> task<void> {
    semaphore s(3);
    sem = &s;
    std::vector<task<int>> ts;
    for (int i = 0; i < 20; ++i) ts.push_back(worker());
    auto r = co_await gather(std::move(ts));
    EXPECT_EQ(r.size(), 20u);
    EXPECT_EQ(s.available(), 3u);
  }());
  EXPECT_EQ(most, 3);
}

TEST(semaphore, permit_moves_and_releases_exactly_once) {
  run([]() -> task<void> {
    semaphore s(1);
    {
      semaphore_permit p = co_await s.hold();
      EXPECT_TRUE(p.owns_permit());
      semaphore_permit q = std::move(p);
      EXPECT_FALSE(p.owns_permit());  // NOLINT(bugprone-use-after-move): checking the moved-from state
      EXPECT_EQ(s.available(), 0u);
      q.release();
      EXPECT_EQ(s.available(), 1u);
      q.release();  // no-op
    }
    EXPECT_EQ(s.available(), 1u);
  }());
}

TEST(semaphore, destroyed_while_a_task_waits_lets_that_task_unwind_at_shutdown) {
  bool unwound = false;
  semaphore* sem = nullptr;
  auto waiter = [&]() -> task<void> {
    try {
      co_await sem->acquire();
    } catch (const cancelled_error&) {
      unwound = true;
      throw;
    }
  };
  run([&]() -> task<void> {
    semaphore s(0);  // dies with main, before the loop cancels the waiter
    sem = &s;
    spawn(waiter());
    co_await settle();
  }());
  EXPECT_TRUE(unwound);
}

}  // namespace
}  // namespace trident::aio
