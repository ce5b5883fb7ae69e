#include "trident/aio/queue.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
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

TEST(queue, fifo_returns_items_in_put_order) {
  run([]() -> task<void> {
    fifo_queue<int> q;
    for (int i = 0; i < 5; ++i) co_await q.send(i);
    EXPECT_EQ(q.size(), 5u);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(co_await q.receive(), i);
    EXPECT_TRUE(q.empty());
  }());
}

TEST(queue, lifo_returns_the_newest_first) {
  run([]() -> task<void> {
    lifo_queue<int> q;
    for (int i = 0; i < 4; ++i) co_await q.send(i);
    std::vector<int> got;
    while (auto v = q.try_receive()) got.push_back(*v);
    EXPECT_EQ(got, (std::vector<int>{3, 2, 1, 0}));
  }());
}

TEST(queue, priority_returns_the_smallest_first_and_ties_in_put_order) {
  run([]() -> task<void> {
    using item = std::pair<int, std::string>;
    struct by_priority {
      bool operator()(const item& a, const item& b) const { return a.first < b.first; }
    };
    priority_queue<item, by_priority> q;
    co_await q.send({3, "c"});
    co_await q.send({1, "a1"});
    co_await q.send({2, "b"});
    co_await q.send({1, "a2"});
    std::vector<std::string> got;
    while (auto v = q.try_receive()) got.push_back(v->second);
    EXPECT_EQ(got, (std::vector<std::string>{"a1", "a2", "b", "c"}));

    priority_queue<int, std::greater<>> largest_first;
    for (int v : {2, 9, 4}) (void)largest_first.try_send(v);
    EXPECT_EQ(largest_first.try_receive().value, 9);
  }());
}

TEST(queue, bounded_put_waits_while_full) {
  run([]() -> task<void> {
    fifo_queue<int> q(2);
    EXPECT_EQ(q.try_send(1), sync::send_status::ok);
    EXPECT_EQ(q.try_send(2), sync::send_status::ok);
    EXPECT_TRUE(q.full());
    EXPECT_EQ(q.try_send(3), sync::send_status::full);
    bool put_done = false;
    auto putter = [&]() -> task<void> {
      co_await q.send(3);
      put_done = true;
    };
    auto h = spawn(putter());
    co_await settle();
    EXPECT_FALSE(put_done);
    EXPECT_EQ(q.waiting_senders(), 1u);
    EXPECT_EQ(co_await q.receive(), 1);
    co_await h;
    EXPECT_TRUE(put_done);
    EXPECT_EQ(q.try_receive().value, 2);
    EXPECT_EQ(q.try_receive().value, 3);
  }());
}

TEST(queue, get_waits_for_a_put_and_the_promised_item_cannot_be_stolen) {
  run([]() -> task<void> {
    fifo_queue<int> q;
    std::optional<int> got;
    auto getter = [&]() -> task<void> { got = co_await q.receive(); };
    auto h = spawn(getter());
    co_await settle();
    EXPECT_EQ(q.waiting_receivers(), 1u);
    co_await q.send(7);
    EXPECT_EQ(q.try_receive().value, std::nullopt);  // promised to the waiting getter
    co_await h;
    EXPECT_EQ(got, 7);
  }());
}

TEST(queue, join_waits_until_every_item_is_task_done) {
  run([]() -> task<void> {
    fifo_queue<int> q;
    co_await q.join();  // nothing put: returns at once
    std::vector<int> processed;
    auto worker = [&]() -> task<void> {
      while (auto v = co_await q.receive()) {
        co_await sleep(0ms);
        processed.push_back(*v);
        q.task_done();
      }
    };
    auto w = spawn(worker());
    for (int i = 0; i < 5; ++i) co_await q.send(i);
    EXPECT_EQ(q.unfinished(), 5u);
    co_await q.join();
    EXPECT_EQ(q.unfinished(), 0u);
    EXPECT_EQ(processed.size(), 5u);
    q.close();
    co_await w;
    EXPECT_THROW(q.task_done(), std::logic_error);
  }());
}

TEST(queue, close_lets_getters_drain_then_return_nullopt_and_rejects_puts) {
  run([]() -> task<void> {
    fifo_queue<int> q;
    co_await q.send(1);
    co_await q.send(2);
    q.close();
    EXPECT_THROW(co_await q.send(3), channel_closed_error);
    EXPECT_EQ(q.try_send(3), sync::send_status::closed);
    EXPECT_EQ(co_await q.receive(), 1);
    EXPECT_EQ(co_await q.receive(), 2);
    EXPECT_EQ(co_await q.receive(), std::nullopt);
    EXPECT_EQ(co_await q.receive(), std::nullopt);
  }());
}

TEST(queue, close_wakes_waiting_receivers_with_nullopt_and_waiting_senders_with_an_error) {
  run([]() -> task<void> {
    fifo_queue<int> empty_q;
    fifo_queue<int> full_q(1);
    (void)full_q.try_send(0);
    int getters_ended = 0;
    bool putter_rejected = false;
    auto getter = [&]() -> task<void> {
      auto v = co_await empty_q.receive();
      if (!v) ++getters_ended;
    };
    auto putter = [&]() -> task<void> {
      try {
        co_await full_q.send(1);
      } catch (const channel_closed_error&) {
        putter_rejected = true;
      }
    };
    auto g1 = spawn(getter());
    auto g2 = spawn(getter());
    auto p = spawn(putter());
    co_await settle();
    empty_q.close();
    full_q.close();
    co_await g1;
    co_await g2;
    co_await p;
    EXPECT_EQ(getters_ended, 2);
    EXPECT_TRUE(putter_rejected);
    EXPECT_EQ(full_q.size(), 1u);
  }());
}

TEST(queue, cancelling_a_waiting_get_loses_no_item_and_other_getters_are_served) {
  run([]() -> task<void> {
    fifo_queue<int> q;
    std::optional<int> b_got;
    auto a_body = [&]() -> task<void> { (void)co_await q.receive(); };
    auto b_body = [&]() -> task<void> { b_got = co_await q.receive(); };
    auto a = spawn(a_body());
    co_await settle();
    auto b = spawn(b_body());
    co_await settle();
    a.cancel();
    co_await a.wait();
    EXPECT_TRUE(a.cancelled());
    EXPECT_EQ(q.waiting_receivers(), 1u);
    co_await q.send(42);
    co_await b;
    EXPECT_EQ(b_got, 42);
  }());
}

// Interleaving: put() promises its item to waiting getter A; A is cancelled before it resumes.
// The item must stay in the queue and go to getter B.
TEST(queue, getter_cancelled_after_an_item_was_promised_passes_it_on) {
  run([]() -> task<void> {
    fifo_queue<int> q;
    std::optional<int> b_got;
    auto a_body = [&]() -> task<void> { (void)co_await q.receive(); };
    auto b_body = [&]() -> task<void> { b_got = co_await q.receive(); };
    auto a = spawn(a_body());
    co_await settle();
    auto b = spawn(b_body());
    co_await settle();
    co_await q.send(1);  // promised to a
    a.cancel();          // before a runs
    co_await a.wait();
    EXPECT_TRUE(a.cancelled());
    co_await b;
    EXPECT_EQ(b_got, 1);
    EXPECT_TRUE(q.empty());
  }());
}

TEST(queue, getter_cancelled_after_an_item_was_promised_leaves_it_queued_when_nobody_else_waits) {
  run([]() -> task<void> {
    fifo_queue<int> q;
    auto a_body = [&]() -> task<void> { (void)co_await q.receive(); };
    auto a = spawn(a_body());
    co_await settle();
    co_await q.send(5);
    a.cancel();
    co_await a.wait();
    EXPECT_TRUE(a.cancelled());
    EXPECT_EQ(q.try_receive().value, 5);
  }());
}

TEST(queue, cancelling_a_waiting_put_leaves_its_item_out_and_other_putters_are_served) {
  run([]() -> task<void> {
    fifo_queue<int> q(1);
    (void)q.try_send(0);
    auto putter = [&](int v) -> task<void> { co_await q.send(v); };
    auto a = spawn(putter(1));
    co_await settle();
    auto b = spawn(putter(2));
    co_await settle();
    a.cancel();
    co_await a.wait();
    EXPECT_TRUE(a.cancelled());
    EXPECT_EQ(q.waiting_senders(), 1u);
    EXPECT_EQ(co_await q.receive(), 0);
    co_await b;
    EXPECT_EQ(co_await q.receive(), 2);
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.unfinished(), 2u);  // 0 and 2; the cancelled 1 never counted
  }());
}

// Interleaving: get() frees a slot and promises it to waiting putter A; A is cancelled before it
// resumes. A's item must not appear, and the slot must go to putter B.
TEST(queue, putter_cancelled_after_a_slot_was_promised_passes_the_slot_on) {
  run([]() -> task<void> {
    fifo_queue<int> q(1);
    (void)q.try_send(0);
    auto putter = [&](int v) -> task<void> { co_await q.send(v); };
    auto a = spawn(putter(1));
    co_await settle();
    auto b = spawn(putter(2));
    co_await settle();
    EXPECT_EQ(q.try_receive().value, 0);  // slot promised to a
    a.cancel();
    co_await a.wait();
    EXPECT_TRUE(a.cancelled());
    co_await b;
    EXPECT_EQ(q.try_receive().value, 2);
    EXPECT_TRUE(q.empty());
  }());
}

TEST(queue, get_under_a_timeout_that_fires_leaves_no_waiter_and_loses_nothing) {
  run([]() -> task<void> {
    fifo_queue<int> q;
    auto getter = [&]() -> task<std::optional<int>> { co_return co_await q.receive(); };
    bool timed_out = false;
    try {
      (void)co_await wait_for(getter(), 5ms);
    } catch (const timeout_error&) {
      timed_out = true;
    }
    EXPECT_TRUE(timed_out);
    EXPECT_EQ(q.waiting_receivers(), 0u);
    co_await q.send(1);
    EXPECT_EQ(q.try_receive().value, 1);
  }());
}

TEST(queue, one_producer_many_consumers_receive_every_item_exactly_once) {
  constexpr int items = 5000;
  constexpr int consumers = 8;
  std::vector<int> seen(items, 0);
  std::vector<int> per_consumer(consumers, 0);
  fifo_queue<int>* qp = nullptr;
  auto consumer = [&](int id) -> task<void> {
    while (auto v = co_await qp->receive()) {
      ++seen[static_cast<std::size_t>(*v)];
      ++per_consumer[static_cast<std::size_t>(id)];
      if (*v % 7 == 0) co_await sleep(0ms);
      qp->task_done();
    }
  };
  run([&]() -> task<void> {
    fifo_queue<int> q(16);
    qp = &q;
    std::vector<task_handle<void>> hs;
    for (int c = 0; c < consumers; ++c) hs.push_back(spawn(consumer(c)));
    for (int i = 0; i < items; ++i) co_await q.send(i);
    co_await q.join();
    q.close();
    for (auto& h : hs) co_await h;
  }());
  EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](int n) { return n == 1; }));
  int total = 0;
  for (int n : per_consumer) total += n;
  EXPECT_EQ(total, items);
  EXPECT_GT(std::count_if(per_consumer.begin(), per_consumer.end(), [](int n) { return n > 0; }), 1);
}

TEST(queue, move_only_items) {
  run([]() -> task<void> {
    fifo_queue<std::unique_ptr<int>> q(1);
    co_await q.send(std::make_unique<int>(3));
    auto v = co_await q.receive();
    EXPECT_TRUE(v && *v && **v == 3);
  }());
}

}  // namespace
}  // namespace trident::aio
