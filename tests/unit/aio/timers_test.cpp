// The loop's timers through the low-level interface: a heap for timers armed out of order and a
// first-in first-out run for those armed in deadline order (event_loop.cpp). Whichever holds a
// timer, they must fire by deadline and then arming order, never after being disarmed, and the
// run's holes, spent entries and compactions must not lose or reorder one.

#include "trident/aio/event_loop.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "trident/aio/lowlevel/timer_node.hpp"
#include "trident/aio/run.hpp"
#include "trident/aio/sleep.hpp"

namespace trident::aio {
namespace {

using namespace std::chrono_literals;

struct recorded_timer : lowlevel::timer_node {
  int id = 0;
  std::uint64_t armed_as = 0;  ///< Arming order across the test.
  bool armed = false;
  std::vector<const recorded_timer*>* fired = nullptr;
};

void record(lowlevel::timer_node* t) noexcept {
  auto* r = static_cast<recorded_timer*>(t);
  r->armed = false;
  r->fired->push_back(r);
}

/// Checks that `fired` is every armed, never-disarmed timer, each once, by deadline then arming.
void expect_deadline_order(const std::vector<const recorded_timer*>& fired, std::size_t expected_count) {
  ASSERT_EQ(fired.size(), expected_count);
  for (std::size_t i = 1; i < fired.size(); ++i) {
    const auto* a = fired[i - 1];
    const auto* b = fired[i];
    ASSERT_TRUE(a->deadline < b->deadline || (a->deadline == b->deadline && a->armed_as < b->armed_as))
        << "timer " << a->id << " fired before timer " << b->id << " out of order (position " << i << ")";
  }
}

// 20,000 timers: runs of increasing deadlines (the in-order run), broken by earlier ones (the
// heap), many with equal deadlines; then 80% of them disarmed, in an order that leaves holes
// everywhere and makes the run compact itself. The rest fire in order, the disarmed never.
TEST(timers, in_order_and_out_of_order_timers_fire_by_deadline_then_arming_order) {
  std::vector<const recorded_timer*> fired;
  std::vector<std::unique_ptr<recorded_timer>> timers;  // outlive the loop: `fired` points at them
  std::size_t expected = 0;
  std::size_t armed_count_seen = 0;
  run(
      [&]() -> task<void> {
        auto& loop = event_loop::running();
        const auto start = loop.now();
        std::mt19937 random(7);
        std::uint64_t armed_as = 0;
        auto step = start;
        for (int i = 0; i < 20'000; ++i) {
          auto t = std::make_unique<recorded_timer>();
          t->id = i;
          t->fired = &fired;
          t->fire = &record;
          if (random() % 5 == 0) {
            t->deadline = start + std::chrono::milliseconds(random() % 1000);  // likely earlier: heap
          } else {
            step += std::chrono::milliseconds(random() % 3);  // in order, often equal
            t->deadline = step;
          }
          t->armed_as = armed_as++;
          t->armed = true;
          loop.arm(*t);
          timers.push_back(std::move(t));
        }
        armed_count_seen = loop.statistics().timers;
        std::shuffle(timers.begin(), timers.end(), random);
        for (std::size_t i = 0; i < timers.size(); ++i) {
          if (i % 5 == 0) continue;  // keep one in five
          EXPECT_TRUE(loop.disarm(*timers[i]));
          EXPECT_FALSE(loop.disarm(*timers[i]));  // twice: already out
          timers[i]->armed = false;
        }
        expected =
            static_cast<std::size_t>(std::count_if(timers.begin(), timers.end(), [](auto& t) { return t->armed; }));
        EXPECT_EQ(loop.statistics().timers, expected);
        co_await sleep_until(step + 1h);
        EXPECT_EQ(loop.statistics().timers, 0u);
        for (auto& t : timers) EXPECT_FALSE(t->armed) << "timer " << t->id << " never fired";
      }(),
      loop_options{.virtual_time = true});
  EXPECT_EQ(armed_count_seen, 20'000u);
  expect_deadline_order(fired, expected);
}

// A steady stream, as a server's timeouts make: while earlier timers fire, later ones keep
// arriving in order; some are disarmed at once and some five rounds later, after the run has
// dropped spent entries before them (so their recorded positions must still find them). Every
// timer that was not disarmed fires, in order, once; no disarmed one fires.
TEST(timers, a_steady_stream_of_in_order_timers_fires_in_order_while_the_run_never_empties) {
  std::vector<const recorded_timer*> fired;
  std::vector<std::unique_ptr<recorded_timer>> timers;
  std::size_t expected = 0;
  run(
      [&]() -> task<void> {
        auto& loop = event_loop::running();
        std::uint64_t armed_as = 0;
        constexpr int per_round = 2'000;
        for (int round = 0; round < 40; ++round) {
          if (round >= 5) {                            // requests that finished late, but before their timeout
            for (int i = 1; i < per_round; i += 10) {  // fewer than the live ones: no compaction
              if (i % 3 == 0) continue;                // disarmed at once already
              auto& t = *timers[static_cast<std::size_t>((round - 5) * per_round + i)];
              EXPECT_TRUE(loop.disarm(t));
              t.armed = false;
              --expected;
            }
          }
          const auto now = loop.now();
          for (int i = 0; i < per_round; ++i) {
            auto t = std::make_unique<recorded_timer>();
            t->id = round * per_round + i;
            t->fired = &fired;
            t->fire = &record;
            t->deadline = now + 10s + std::chrono::microseconds(i);  // later than every armed one
            t->armed_as = armed_as++;
            t->armed = true;
            loop.arm(*t);
            if (i % 3 == 0) {  // a request that finished at once
              EXPECT_TRUE(loop.disarm(*t));
              t->armed = false;
            } else {
              ++expected;
            }
            timers.push_back(std::move(t));
          }
          co_await sleep(1s);  // ten rounds of timers stay armed behind the ones firing
        }
        co_await sleep(1h);
        EXPECT_EQ(loop.statistics().timers, 0u);
      }(),
      loop_options{.virtual_time = true});
  expect_deadline_order(fired, expected);
  for (auto& t : timers) EXPECT_FALSE(t->armed) << "timer " << t->id << " never fired";
}

// A timer's fire may arm it again (a periodic timer): it is out of both the run and the heap
// when its callback runs.
TEST(timers, a_timer_rearmed_from_its_own_callback_fires_again) {
  struct periodic : lowlevel::timer_node {
    event_loop* loop = nullptr;
    int count = 0;
  };
  int fired = 0;
  run(
      [&]() -> task<void> {
        auto& loop = event_loop::running();
        periodic p;
        p.loop = &loop;
        p.deadline = loop.now() + 1s;
        p.fire = [](lowlevel::timer_node* t) noexcept {
          auto* self = static_cast<periodic*>(t);
          if (++self->count < 5) {
            self->deadline += 1s;
            self->loop->arm(*self);
          }
        };
        loop.arm(p);
        co_await sleep(10s);
        fired = p.count;
        EXPECT_FALSE(loop.disarm(p));
      }(),
      loop_options{.virtual_time = true});
  EXPECT_EQ(fired, 5);
}

}  // namespace
}  // namespace trident::aio
