#include "trident/sync/event.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "sync_test_support.hpp"

namespace {

using namespace std::chrono_literals;
using trident::testing::eventually;
using trident::testing::to_text;

TEST(event, starts_unset_and_follows_set_and_clear) {
  trident::sync::event e;
  EXPECT_FALSE(e.is_set());
  e.set();
  EXPECT_TRUE(e.is_set());
  e.set();
  EXPECT_TRUE(e.is_set());
  e.clear();
  EXPECT_FALSE(e.is_set());
}

TEST(event, wait_returns_at_once_when_set) {
  trident::sync::event e;
  e.set();
  e.wait();
  EXPECT_TRUE(e.wait_for(0s));
  EXPECT_TRUE(e.wait_until(std::chrono::steady_clock::now() - 1s));
}

TEST(event, wait_for_times_out_when_never_set) {
  trident::sync::event e;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(e.wait_for(20ms));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 20ms);
  EXPECT_FALSE(e.wait_until(std::chrono::system_clock::now() + 5ms));
  EXPECT_FALSE(e.wait_for(-1s));
}

TEST(event, set_wakes_every_waiter) {
  trident::sync::event e;
  constexpr int kWaiters = 3;
  std::atomic<int> woken{0};
  std::vector<std::jthread> waiters;
  for (int i = 0; i < kWaiters; ++i) {
    waiters.emplace_back([&, i] {
      if (i == 0) {
        e.wait();
        ++woken;
      } else if (e.wait_for(std::chrono::hours(1))) {
        ++woken;
      }
    });
  }
  ASSERT_TRUE(eventually([&] { return to_text(e) == "event [unset, waiters:3]"; })) << to_text(e);
  e.set();
  waiters.clear();  // joins
  EXPECT_EQ(woken.load(), kWaiters);
  EXPECT_EQ(to_text(e), "event [set]");
}

TEST(event, waiter_woken_by_set_returns_even_if_cleared_at_once) {
  // Interleaving that a plain "wait until flag" loop gets wrong: set() wakes the waiter, but
  // clear() runs before the waiter reacquires the lock and rechecks the flag.
  trident::sync::event e;
  std::atomic<bool> returned_true{false};
  std::jthread waiter{[&] { returned_true = e.wait_for(std::chrono::hours(1)); }};
  ASSERT_TRUE(eventually([&] { return to_text(e) == "event [unset, waiters:1]"; }));
  e.set();
  e.clear();
  waiter.join();
  EXPECT_TRUE(returned_true.load());
}

TEST(event, duration_max_means_wait_forever_not_overflow) {
  trident::sync::event e;
  std::atomic<bool> result{false};
  std::jthread waiter{[&] { result = e.wait_for(std::chrono::nanoseconds::max()); }};
  ASSERT_TRUE(eventually([&] { return to_text(e) == "event [unset, waiters:1]"; }));
  e.set();
  waiter.join();
  EXPECT_TRUE(result.load());
  EXPECT_TRUE(e.wait_for(std::chrono::hours::max()));
}

}  // namespace
