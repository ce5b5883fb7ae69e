// The 0.1 spellings of sync's names (`trident::mutex`, `trident::lock_order::enabled()`, …)
// still compile for the 0.2 releases and name the same entities as their `trident::sync::`
// names (deprecated_names.hpp). Uses of them warn by design; this file alone turns that off.
#include <gtest/gtest.h>

#include <functional>
#include <mutex>
#include <string>
#include <type_traits>

#include "trident/sync/channel.hpp"
#include "trident/sync/channel_types.hpp"
#include "trident/sync/channel_waiter.hpp"
#include "trident/sync/event.hpp"
#include "trident/sync/lock_order.hpp"
#include "trident/sync/mutex.hpp"
#include "trident/sync/priority_channel.hpp"
#include "trident/sync/synchronized.hpp"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

static_assert(std::is_same_v<trident::mutex, trident::sync::mutex>);
static_assert(std::is_same_v<trident::event, trident::sync::event>);
static_assert(std::is_same_v<trident::channel<int>, trident::sync::channel<int>>);
static_assert(std::is_same_v<trident::priority_channel<int>, trident::sync::priority_channel<int>>);
static_assert(std::is_same_v<trident::priority_channel<int, std::greater<int>>,
                             trident::sync::priority_channel<int, std::greater<int>>>);
static_assert(std::is_same_v<trident::synchronized<int>, trident::sync::synchronized<int>>);
static_assert(std::is_same_v<trident::synchronized<int, std::mutex>, trident::sync::synchronized<int, std::mutex>>);
static_assert(std::is_same_v<trident::lock_name, trident::sync::lock_name>);
static_assert(std::is_same_v<trident::lock_order_error, trident::sync::lock_order_error>);
static_assert(std::is_same_v<trident::lock_order::graph_statistics, trident::sync::lock_order::graph_statistics>);
static_assert(std::is_same_v<trident::send_status, trident::sync::send_status>);
static_assert(std::is_same_v<trident::receive_status, trident::sync::receive_status>);
static_assert(std::is_same_v<trident::receive_result<int>, trident::sync::receive_result<int>>);
static_assert(std::is_same_v<trident::channel_statistics, trident::sync::channel_statistics>);
static_assert(std::is_same_v<trident::waiter_outcome, trident::sync::waiter_outcome>);
static_assert(std::is_same_v<trident::channel_waiter_base, trident::sync::channel_waiter_base>);
static_assert(std::is_same_v<trident::channel_waiter<int>, trident::sync::channel_waiter<int>>);
static_assert(trident::to_string(trident::send_status::full) == "full");
static_assert(trident::to_string(trident::receive_status::closed) == "closed");

namespace trident::aio_like {

// An unqualified call that finds the deprecated forwarder by ordinary lookup and sync's
// function by argument-dependent lookup picks sync's (a function beats a template): no
// ambiguity, and the result is the same.
static_assert(to_string(sync::send_status::timeout) == "timeout");

}  // namespace trident::aio_like

namespace {

TEST(sync_deprecated_names, old_spellings_name_the_same_locks_channels_and_switch) {
  const bool was = trident::lock_order::enabled();
  trident::lock_order::set_enabled(!was);
  EXPECT_EQ(trident::sync::lock_order::enabled(), !was);
  trident::lock_order::set_enabled(was);
  EXPECT_EQ(trident::sync::lock_order::enabled(), was);
  const trident::lock_order::graph_statistics stats = trident::lock_order::statistics();
  EXPECT_EQ(stats.violations, trident::sync::lock_order::statistics().violations);

  trident::mutex m{"old-name"};
  EXPECT_EQ(m.name(), "old-name");
  {
    std::lock_guard guard{m};
    EXPECT_FALSE(m.try_lock());
  }

  trident::channel<int> ch{2};
  EXPECT_EQ(ch.try_send(4), trident::send_status::ok);
  trident::receive_result<int> r = ch.try_receive();
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 4);

  trident::priority_channel<int> pc{4};
  pc.send(1);
  pc.send(9);
  EXPECT_EQ(pc.receive(), 9);

  trident::synchronized<std::string> text{trident::lock_name{"text"}, "a"};
  text.with_lock([](std::string& s) { s += "b"; });
  EXPECT_EQ(*text.lock(), "ab");

  trident::event e;
  e.set();
  EXPECT_TRUE(e.is_set());
}

}  // namespace

#pragma GCC diagnostic pop
