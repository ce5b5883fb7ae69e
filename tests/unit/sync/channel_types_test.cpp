#include "trident/sync/channel_types.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <string>

namespace {

TEST(channel_types, statuses_print_their_names) {
  std::ostringstream os;
  os << trident::sync::send_status::full << ' ' << trident::sync::receive_status::timeout;
  EXPECT_EQ(os.str(), "full timeout");
  EXPECT_EQ(trident::sync::to_string(trident::sync::send_status::closed), "closed");
  EXPECT_EQ(trident::sync::to_string(trident::sync::receive_status::empty), "empty");
}

TEST(channel_types, receive_result_is_true_only_with_a_value) {
  trident::sync::receive_result<std::string> none{trident::sync::receive_status::timeout, std::nullopt};
  EXPECT_FALSE(none);
  EXPECT_FALSE(none.has_value());
  trident::sync::receive_result<std::string> some{trident::sync::receive_status::ok, "hello"};
  ASSERT_TRUE(some);
  EXPECT_EQ(*some, "hello");
  EXPECT_EQ(some->size(), 5U);
  std::string moved = *std::move(some);
  EXPECT_EQ(moved, "hello");
}

}  // namespace
