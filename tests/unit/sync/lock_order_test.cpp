#include "trident/sync/lock_order.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "sync_test_support.hpp"
#include "trident/sync/mutex.hpp"

namespace {

using trident::testing::lock_order_scope;

TEST(lock_order, switch_can_be_flipped_at_run_time) {
  lock_order_scope restore{trident::sync::lock_order::enabled()};
  trident::sync::lock_order::set_enabled(true);
  EXPECT_TRUE(trident::sync::lock_order::enabled());
  trident::sync::lock_order::set_enabled(false);
  EXPECT_FALSE(trident::sync::lock_order::enabled());
}

TEST(lock_order, debug_builds_default_to_on) {
#if defined(TRIDENT_LOCK_ORDER_DEFAULT_ON)
  // Unless the environment overrides it, the Debug configuration checks from the start.
  const char* env = std::getenv("TRIDENT_LOCK_ORDER");
  if (env != nullptr) GTEST_SKIP() << "TRIDENT_LOCK_ORDER is set in the environment";
  // The switch may have been flipped by earlier tests, each of which restores it.
  EXPECT_TRUE(trident::sync::lock_order::enabled());
#else
  GTEST_SKIP() << "not a Debug build";
#endif
}

TEST(lock_order, statistics_count_edges_checks_and_violations) {
  lock_order_scope checking{true};
  const auto start = trident::sync::lock_order::statistics();
  trident::sync::mutex a{"a"};
  trident::sync::mutex b{"b"};
  {
    auto ha = a.scoped();
    auto hb = b.scoped();
  }
  {
    auto ha = a.scoped();
    auto hb = b.scoped();  // known edge: a check, no new edge
  }
  {
    auto hb = b.scoped();
    EXPECT_THROW(a.lock(), trident::sync::lock_order_error);
  }
  const auto now = trident::sync::lock_order::statistics();
  EXPECT_EQ(now.edges, start.edges + 1);
  EXPECT_EQ(now.checks, start.checks + 3);
  EXPECT_EQ(now.violations, start.violations + 1);
}

TEST(lock_order, clear_forgets_recorded_orders) {
  lock_order_scope checking{true};
  trident::sync::mutex a{"a"};
  trident::sync::mutex b{"b"};
  {
    auto ha = a.scoped();
    auto hb = b.scoped();
  }
  trident::sync::lock_order::clear();
  EXPECT_EQ(trident::sync::lock_order::statistics().edges, 0U);
  EXPECT_EQ(trident::sync::lock_order::statistics().nodes, 0U);
  if (trident::testing::under_thread_sanitizer) return;  // it would report the inversion below
  auto hb = b.scoped();
  EXPECT_NO_THROW(a.lock());
  a.unlock();
}

}  // namespace
