#include "trident/sync/channel.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "channel_contract.hpp"

namespace {

using trident::testing::eventually;
using trident::testing::to_text;

struct fifo_kind {
  template <class T>
  using of = trident::sync::channel<T>;
};

}  // namespace

namespace trident::testing {
INSTANTIATE_TYPED_TEST_SUITE_P(channel, channel_contract, ::testing::Types<fifo_kind>);
}  // namespace trident::testing

namespace {

TEST(channel, receives_in_send_order) {
  trident::sync::channel<int> ch{8};
  for (int i = 0; i < 8; ++i) ch.send(i);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(ch.receive(), i);
}

TEST(channel, blocked_senders_enter_in_arrival_order) {
  trident::sync::channel<int> ch{1};
  ch.send(1);
  std::jthread second{[&] { ch.send(2); }};
  ASSERT_TRUE(eventually([&] { return ch.statistics().blocked_senders == 1; }));
  std::jthread third{[&] { ch.send(3); }};
  ASSERT_TRUE(eventually([&] { return ch.statistics().blocked_senders == 2; }));
  EXPECT_EQ(ch.receive(), 1);
  EXPECT_EQ(ch.receive(), 2);
  EXPECT_EQ(ch.receive(), 3);
}

TEST(channel, blocked_receivers_are_served_in_arrival_order) {
  trident::sync::channel<int> ch{1};
  std::optional<int> first;
  std::optional<int> second;
  std::jthread r1{[&] { first = ch.receive(); }};
  ASSERT_TRUE(eventually([&] { return ch.statistics().blocked_receivers == 1; }));
  std::jthread r2{[&] { second = ch.receive(); }};
  ASSERT_TRUE(eventually([&] { return ch.statistics().blocked_receivers == 2; }));
  ch.send(10);
  ch.send(20);
  r1.join();
  r2.join();
  EXPECT_EQ(first, 10);
  EXPECT_EQ(second, 20);
}

TEST(channel, copies_lvalues_with_try_send_and_send_for) {
  trident::sync::channel<std::string> ch{2};
  const std::string text = "a value long enough to live on the heap, not in the SSO buffer";
  EXPECT_EQ(ch.try_send(text), trident::sync::send_status::ok);
  EXPECT_EQ(ch.send_for(text, std::chrono::seconds(1)), trident::sync::send_status::ok);
  EXPECT_EQ(ch.receive(), text);
  EXPECT_EQ(ch.receive(), text);
}

TEST(channel, prints_its_kind) {
  trident::sync::channel<int> ch{5};
  EXPECT_EQ(to_text(ch), "channel [open, 0/5 items]");
}

}  // namespace
