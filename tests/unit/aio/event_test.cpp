#include "trident/aio/event.hpp"

#include <gtest/gtest.h>

#include <chrono>
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

TEST(event, set_wakes_every_waiter) {
  int woken = 0;
  event* ev = nullptr;
  auto waiter = [&]() -> task<void> {
    co_await ev->wait();
    ++woken;
  };
  run([&]() -> task<void> {
    event e;
    ev = &e;
    std::vector<task_handle<void>> hs;
    for (int i = 0; i < 3; ++i) hs.push_back(spawn(waiter()));
    co_await settle();
    EXPECT_EQ(woken, 0);
    EXPECT_EQ(e.waiters(), 3u);
    e.set();
    for (auto& h : hs) co_await h;
    EXPECT_EQ(woken, 3);
  }());
}

TEST(event, wait_returns_at_once_while_set_and_blocks_again_after_clear) {
  run([]() -> task<void> {
    event e;
    e.set();
    EXPECT_TRUE(e.is_set());
    co_await e.wait();
    e.clear();
    EXPECT_FALSE(e.is_set());
    bool passed = false;
    auto waiter = [&]() -> task<void> {
      co_await e.wait();
      passed = true;
    };
    auto h = spawn(waiter());
    co_await settle();
    EXPECT_FALSE(passed);
    e.set();
    co_await h;
    EXPECT_TRUE(passed);
  }());
}

TEST(event, waiter_woken_by_set_returns_even_if_cleared_before_it_runs) {
  run([]() -> task<void> {
    event e;
    bool passed = false;
    auto waiter = [&]() -> task<void> {
      co_await e.wait();
      passed = true;
    };
    auto h = spawn(waiter());
    co_await settle();
    e.set();
    e.clear();
    co_await h;
    EXPECT_TRUE(passed);
  }());
}

TEST(event, cancelling_a_waiter_removes_it_and_others_still_wake) {
  run([]() -> task<void> {
    event e;
    int woken = 0;
    auto waiter = [&]() -> task<void> {
      co_await e.wait();
      ++woken;
    };
    auto a = spawn(waiter());
    auto b = spawn(waiter());
    co_await settle();
    a.cancel();
    co_await a.wait();
    EXPECT_TRUE(a.cancelled());
    EXPECT_EQ(e.waiters(), 1u);
    e.set();
    co_await b;
    EXPECT_EQ(woken, 1);
  }());
}

}  // namespace
}  // namespace trident::aio
