#pragma once
// The behaviour every channel kind shares, written once and instantiated by channel_test.cpp
// and priority_channel_test.cpp (like CPython's mixin test classes). Order-specific behaviour
// lives in those files.
//
// A type parameter is a "kind": `template <class T> using of = the_channel<T>;`.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "sync_test_support.hpp"
#include "trident/core/errors.hpp"
#include "trident/sync/channel_types.hpp"

namespace trident::testing {

using namespace std::chrono_literals;

template <class Kind>
class channel_contract : public ::testing::Test {};

TYPED_TEST_SUITE_P(channel_contract);

TYPED_TEST_P(channel_contract, zero_capacity_is_rejected_with_a_clear_message) {
  using channel = typename TypeParam::template of<int>;
  try {
    channel ch{0};
    FAIL() << "capacity 0 accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("capacity must be at least 1"), std::string::npos) << e.what();
  }
}

TYPED_TEST_P(channel_contract, try_send_reports_full_and_keeps_the_value) {
  using channel = typename TypeParam::template of<std::unique_ptr<int>>;
  channel ch{1};
  EXPECT_EQ(ch.try_send(std::make_unique<int>(1)), sync::send_status::ok);
  auto value = std::make_unique<int>(2);
  EXPECT_EQ(ch.try_send(std::move(value)), sync::send_status::full);
  ASSERT_NE(value, nullptr) << "a failed try_send moved the value away";
  EXPECT_EQ(*value, 2);
  EXPECT_EQ(ch.size(), 1U);
}

TYPED_TEST_P(channel_contract, send_after_close_throws_and_try_send_keeps_the_value) {
  using channel = typename TypeParam::template of<std::unique_ptr<int>>;
  channel ch{4};
  ch.close();
  EXPECT_TRUE(ch.is_closed());
  EXPECT_THROW(ch.send(std::make_unique<int>(1)), channel_closed_error);
  auto value = std::make_unique<int>(7);
  EXPECT_EQ(ch.try_send(std::move(value)), sync::send_status::closed);
  EXPECT_EQ(ch.send_for(std::move(value), 1s), sync::send_status::closed);
  ASSERT_NE(value, nullptr);
  EXPECT_EQ(*value, 7);
  EXPECT_EQ(ch.statistics().sent, 0U);
}

TYPED_TEST_P(channel_contract, close_is_idempotent_and_buffered_values_drain_first) {
  using channel = typename TypeParam::template of<int>;
  channel ch{3};
  ch.send(1);
  ch.send(2);
  ch.close();
  ch.close();
  std::vector<int> got;
  while (auto v = ch.receive()) got.push_back(*v);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<int>{1, 2}));
  EXPECT_EQ(ch.receive(), std::nullopt);
  EXPECT_EQ(ch.try_receive().status, sync::receive_status::closed);
  EXPECT_EQ(ch.receive_for(1s).status, sync::receive_status::closed);
}

TYPED_TEST_P(channel_contract, try_receive_tells_empty_from_closed) {
  using channel = typename TypeParam::template of<int>;
  channel ch{2};
  auto empty = ch.try_receive();
  EXPECT_FALSE(empty);
  EXPECT_EQ(empty.status, sync::receive_status::empty);
  ch.send(5);
  auto got = ch.try_receive();
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, 5);
  ch.close();
  EXPECT_EQ(ch.try_receive().status, sync::receive_status::closed);
}

TYPED_TEST_P(channel_contract, close_wakes_blocked_receivers_after_drain) {
  using channel = typename TypeParam::template of<int>;
  channel ch{2};
  constexpr int kReceivers = 3;
  std::atomic<int> ended_empty{0};
  std::vector<std::jthread> receivers;
  for (int i = 0; i < kReceivers; ++i) {
    receivers.emplace_back([&, i] {
      const bool ended = i == 0 ? !ch.receive().has_value()
                                : ch.receive_for(std::chrono::hours(1)).status == sync::receive_status::closed;
      if (ended) ++ended_empty;
    });
  }
  ASSERT_TRUE(eventually([&] { return ch.statistics().blocked_receivers == kReceivers; }));
  EXPECT_NE(to_text(ch).find("[open, 0/2 items, receivers waiting:3]"), std::string::npos) << to_text(ch);
  ch.close();
  receivers.clear();
  EXPECT_EQ(ended_empty.load(), kReceivers);
}

TYPED_TEST_P(channel_contract, close_wakes_blocked_senders_which_fail_keeping_their_values) {
  using channel = typename TypeParam::template of<std::unique_ptr<int>>;
  channel ch{1};
  ch.send(std::make_unique<int>(0));
  bool threw = false;
  auto kept = std::make_unique<int>(9);
  sync::send_status timed = sync::send_status::ok;
  {
    std::jthread blocking{[&] {
      try {
        ch.send(std::make_unique<int>(1));
      } catch (const channel_closed_error&) {
        threw = true;
      }
    }};
    std::jthread timed_sender{[&] { timed = ch.send_for(std::move(kept), std::chrono::hours(1)); }};
    ASSERT_TRUE(eventually([&] { return ch.statistics().blocked_senders == 2; }));
    ch.close();
  }
  EXPECT_TRUE(threw);
  EXPECT_EQ(timed, sync::send_status::closed);
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(*kept, 9);
  auto first = ch.receive();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(**first, 0);
  EXPECT_EQ(ch.receive(), std::nullopt);
}

TYPED_TEST_P(channel_contract, receive_for_times_out_on_an_empty_channel) {
  using channel = typename TypeParam::template of<int>;
  channel ch{1};
  const auto start = std::chrono::steady_clock::now();
  auto r = ch.receive_for(20ms);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 20ms);
  EXPECT_EQ(r.status, sync::receive_status::timeout);
  EXPECT_FALSE(r.has_value());
  EXPECT_EQ(ch.statistics().blocked_receivers, 0U) << "timed-out waiter left linked";
  EXPECT_EQ(ch.receive_until(std::chrono::system_clock::now() + 1ms).status, sync::receive_status::timeout);
  EXPECT_EQ(ch.receive_for(-5s).status, sync::receive_status::timeout);
}

TYPED_TEST_P(channel_contract, send_for_times_out_on_a_full_channel_keeping_the_value) {
  using channel = typename TypeParam::template of<std::unique_ptr<int>>;
  channel ch{1};
  ch.send(std::make_unique<int>(1));
  auto value = std::make_unique<int>(2);
  EXPECT_EQ(ch.send_for(std::move(value), 20ms), sync::send_status::timeout);
  ASSERT_NE(value, nullptr);
  EXPECT_EQ(*value, 2);
  EXPECT_EQ(ch.send_until(std::move(value), std::chrono::steady_clock::now()), sync::send_status::timeout);
  EXPECT_NE(value, nullptr);
  EXPECT_EQ(ch.statistics().blocked_senders, 0U);
  EXPECT_EQ(ch.size(), 1U);
}

TYPED_TEST_P(channel_contract, timed_operations_succeed_without_waiting_when_possible) {
  using channel = typename TypeParam::template of<int>;
  channel ch{1};
  const auto past = std::chrono::steady_clock::now() - 1s;
  EXPECT_EQ(ch.send_until(1, past), sync::send_status::ok);
  auto r = ch.receive_until(past);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 1);
}

TYPED_TEST_P(channel_contract, value_goes_straight_to_a_waiting_receiver) {
  using channel = typename TypeParam::template of<int>;
  channel ch{1};
  std::optional<int> got;
  std::jthread receiver{[&] { got = ch.receive(); }};
  ASSERT_TRUE(eventually([&] { return ch.statistics().blocked_receivers == 1; }));
  ch.send(42);
  receiver.join();
  EXPECT_EQ(got, 42);
  const sync::channel_statistics s = ch.statistics();
  EXPECT_EQ(s.sent, 1U);
  EXPECT_EQ(s.received, 1U);
  EXPECT_EQ(s.size, 0U);
}

TYPED_TEST_P(channel_contract, blocked_sender_is_admitted_when_a_slot_frees) {
  using channel = typename TypeParam::template of<int>;
  channel ch{1};
  ch.send(1);
  std::jthread sender{[&] { ch.send(2); }};
  ASSERT_TRUE(eventually([&] { return ch.statistics().blocked_senders == 1; }));
  EXPECT_EQ(ch.receive(), 1);
  sender.join();
  EXPECT_EQ(ch.size(), 1U);
  EXPECT_EQ(ch.receive(), 2);
}

TYPED_TEST_P(channel_contract, statistics_and_printing_describe_the_state) {
  using channel = typename TypeParam::template of<int>;
  channel ch{5};
  const std::string kind = to_text(ch).substr(0, to_text(ch).find(' '));
  EXPECT_EQ(to_text(ch), kind + " [open, 0/5 items]");
  ch.send(1);
  ch.send(2);
  ch.send(3);
  EXPECT_EQ(to_text(ch), kind + " [open, 3/5 items]");
  EXPECT_EQ(ch.capacity(), 5U);
  ch.close();
  EXPECT_EQ(to_text(ch), kind + " [closed, 3/5 items]");
  const sync::channel_statistics s = ch.statistics();
  EXPECT_EQ(s.sent, 3U);
  EXPECT_EQ(s.received, 0U);
  EXPECT_EQ(s.size, 3U);
  EXPECT_EQ(s.capacity, 5U);
  EXPECT_TRUE(s.closed);
}

TYPED_TEST_P(channel_contract, printing_shows_waiting_senders) {
  using channel = typename TypeParam::template of<int>;
  channel ch{1};
  ch.send(1);
  std::jthread sender{[&] { ch.send(2); }};
  ASSERT_TRUE(eventually([&] { return ch.statistics().blocked_senders == 1; }));
  EXPECT_NE(to_text(ch).find("[open, 1/1 items, senders waiting:1]"), std::string::npos) << to_text(ch);
  ch.receive();
}

TYPED_TEST_P(channel_contract, range_for_receives_until_closed_and_drained) {
  using channel = typename TypeParam::template of<int>;
  channel ch{4};
  std::jthread producer{[&] {
    for (int i = 1; i <= 100; ++i) ch.send(i);
    ch.close();
  }};
  long sum = 0;
  int count = 0;
  for (int& v : ch) {
    sum += v;
    ++count;
  }
  EXPECT_EQ(count, 100);
  EXPECT_EQ(sum, 5050);
  for (auto v : ch) ADD_FAILURE() << "received " << v << " after the end";
}

TYPED_TEST_P(channel_contract, duration_max_timeouts_wait_until_woken) {
  using channel = typename TypeParam::template of<int>;
  channel ch{1};
  sync::receive_result<int> r;
  std::jthread receiver{[&] { r = ch.receive_for(std::chrono::nanoseconds::max()); }};
  ASSERT_TRUE(eventually([&] { return ch.statistics().blocked_receivers == 1; }));
  EXPECT_EQ(ch.send_for(3, std::chrono::seconds::max()), sync::send_status::ok);
  receiver.join();
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 3);
}

TYPED_TEST_P(channel_contract, mpmc_delivers_every_value_exactly_once) {
  using channel = typename TypeParam::template of<std::uint32_t>;
  constexpr std::uint32_t kProducers = 4;
  constexpr std::uint32_t kConsumers = 4;
  constexpr std::uint32_t kPerProducer = 5000;
  channel ch{8};
  std::vector<std::atomic<int>> seen(kProducers * kPerProducer);
  std::atomic<std::uint64_t> sum{0};
  {
    std::vector<std::jthread> consumers;
    for (std::uint32_t c = 0; c < kConsumers; ++c) {
      consumers.emplace_back([&] {
        for (std::uint32_t v : ch) {
          seen[v].fetch_add(1, std::memory_order_relaxed);
          sum.fetch_add(v, std::memory_order_relaxed);
        }
      });
    }
    {
      std::vector<std::jthread> producers;
      for (std::uint32_t p = 0; p < kProducers; ++p) {
        producers.emplace_back([&, p] {
          for (std::uint32_t i = 0; i < kPerProducer; ++i) ch.send(p * kPerProducer + i);
        });
      }
    }
    ch.close();
  }
  const std::uint64_t n = std::uint64_t{kProducers} * kPerProducer;
  EXPECT_EQ(sum.load(), n * (n - 1) / 2);
  for (std::size_t i = 0; i < seen.size(); ++i) {
    ASSERT_EQ(seen[i].load(), 1) << "value " << i;
  }
  EXPECT_EQ(ch.statistics().sent, n);
  EXPECT_EQ(ch.statistics().received, n);
}

REGISTER_TYPED_TEST_SUITE_P(
    channel_contract, zero_capacity_is_rejected_with_a_clear_message, try_send_reports_full_and_keeps_the_value,
    send_after_close_throws_and_try_send_keeps_the_value, close_is_idempotent_and_buffered_values_drain_first,
    try_receive_tells_empty_from_closed, close_wakes_blocked_receivers_after_drain,
    close_wakes_blocked_senders_which_fail_keeping_their_values, receive_for_times_out_on_an_empty_channel,
    send_for_times_out_on_a_full_channel_keeping_the_value, timed_operations_succeed_without_waiting_when_possible,
    value_goes_straight_to_a_waiting_receiver, blocked_sender_is_admitted_when_a_slot_frees,
    statistics_and_printing_describe_the_state, printing_shows_waiting_senders,
    range_for_receives_until_closed_and_drained, duration_max_timeouts_wait_until_woken,
    mpmc_delivers_every_value_exactly_once);

}  // namespace trident::testing
