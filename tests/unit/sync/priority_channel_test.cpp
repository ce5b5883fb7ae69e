#include "trident/sync/priority_channel.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "channel_contract.hpp"

namespace {

using trident::testing::eventually;
using trident::testing::to_text;

struct priority_kind {
  template <class T>
  using of = trident::sync::priority_channel<T>;
};

}  // namespace

namespace trident::testing {
INSTANTIATE_TYPED_TEST_SUITE_P(priority_channel, channel_contract, ::testing::Types<priority_kind>);
}  // namespace trident::testing

namespace {

TEST(priority_channel, receives_largest_first) {
  trident::sync::priority_channel<int> ch{8};
  for (int v : {3, 9, 1, 7, 5, 9}) ch.send(v);
  std::vector<int> got;
  ch.close();
  for (int v : ch) got.push_back(v);
  EXPECT_EQ(got, (std::vector<int>{9, 9, 7, 5, 3, 1}));
}

TEST(priority_channel, std_greater_gives_smallest_first_like_python) {
  trident::sync::priority_channel<int, std::greater<int>> ch{8};
  for (int v : {3, 9, 1, 7}) ch.send(v);
  EXPECT_EQ(ch.receive(), 1);
  EXPECT_EQ(ch.receive(), 3);
  EXPECT_EQ(ch.receive(), 7);
  EXPECT_EQ(ch.receive(), 9);
}

TEST(priority_channel, stateful_comparator_is_used) {
  struct by_length {
    bool operator()(const std::string& a, const std::string& b) const { return a.size() < b.size(); }
  };
  trident::sync::priority_channel<std::string, by_length> ch{4, by_length{}};
  ch.send("bb");
  ch.send("a");
  ch.send("cccc");
  EXPECT_EQ(ch.receive(), "cccc");
  EXPECT_EQ(ch.receive(), "bb");
  EXPECT_EQ(ch.receive(), "a");
}

TEST(priority_channel, blocked_sender_value_joins_the_heap_when_a_slot_frees) {
  trident::sync::priority_channel<int> ch{2};
  ch.send(5);
  ch.send(1);
  std::jthread sender{[&] { ch.send(10); }};
  ASSERT_TRUE(eventually([&] { return ch.statistics().blocked_senders == 1; }));
  // 10 is not yet in the channel, so the largest buffered value leaves first.
  EXPECT_EQ(ch.receive(), 5);
  sender.join();
  EXPECT_EQ(ch.receive(), 10);
  EXPECT_EQ(ch.receive(), 1);
}

TEST(priority_channel, prints_its_kind) {
  trident::sync::priority_channel<int> ch{3};
  EXPECT_EQ(to_text(ch), "priority_channel [open, 0/3 items]");
}

}  // namespace
