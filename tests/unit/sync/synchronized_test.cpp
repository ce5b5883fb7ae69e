#include "trident/sync/synchronized.hpp"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "sync_test_support.hpp"

namespace {

using trident::sync::lock_name;
using trident::sync::synchronized;
using trident::testing::lock_order_scope;

TEST(synchronized, constructor_forwards_arguments_to_the_value) {
  synchronized<std::string> text{3U, 'x'};
  EXPECT_EQ(text.with_lock([](std::string& s) { return s; }), "xxx");
  synchronized<int> zero;
  EXPECT_EQ(*zero.lock(), 0);
}

TEST(synchronized, named_lock_keeps_its_name) {
  synchronized<std::vector<int>> log{lock_name{"log"}, 2U, 7};
  EXPECT_EQ(log.get_mutex().name(), "log");
  EXPECT_EQ(log.lock()->size(), 2U);
}

TEST(synchronized, with_lock_returns_what_the_function_returns) {
  synchronized<std::map<std::string, int>> counts;
  counts.with_lock([](auto& m) { m["a"] = 1; });
  const int a = counts.with_lock([](auto& m) { return m.at("a"); });
  EXPECT_EQ(a, 1);
}

TEST(synchronized, const_access_gives_const_references) {
  const synchronized<int> value{42};
  value.with_lock([](auto& v) {
    static_assert(std::is_const_v<std::remove_reference_t<decltype(v)>>);
    EXPECT_EQ(v, 42);
  });
  auto guard = value.lock();
  static_assert(std::is_same_v<decltype(*guard), const int&>);
  EXPECT_EQ(*guard, 42);
}

TEST(synchronized, guard_holds_the_lock_until_destroyed) {
  synchronized<std::string> name{lock_name{"name"}, "before"};
  {
    auto guard = name.lock();
    *guard = "after";
    EXPECT_FALSE(name.get_mutex().try_lock());
  }
  ASSERT_TRUE(name.get_mutex().try_lock());
  name.get_mutex().unlock();
  EXPECT_EQ(name.lock()->size(), 5U);
}

TEST(synchronized, guard_unlock_releases_early) {
  synchronized<int> value{1};
  auto guard = value.lock();
  guard.unlock();
  ASSERT_TRUE(value.get_mutex().try_lock());
  value.get_mutex().unlock();
}

TEST(synchronized, concurrent_updates_are_not_lost) {
  synchronized<long> total{lock_name{"total"}, 0L};
  constexpr int kThreads = 4;
  constexpr int kAdds = 10000;
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < kAdds; ++i) total.with_lock([](long& v) { ++v; });
      });
    }
  }
  EXPECT_EQ(*total.lock(), long{kThreads} * kAdds);
}

TEST(synchronized, works_with_std_mutex) {
  synchronized<int, std::mutex> value{5};
  value.with_lock([](int& v) { v *= 2; });
  EXPECT_EQ(*value.lock(), 10);
}

TEST(synchronized, nested_with_lock_on_the_same_value_throws_when_checking) {
  lock_order_scope checking{true};
  synchronized<int> value{lock_name{"value"}, 0};
  EXPECT_THROW(value.with_lock([&](int&) { value.with_lock([](int&) {}); }), trident::sync::lock_order_error);
  EXPECT_EQ(*value.lock(), 0) << "the outer lock was not released after the throw";
}

TEST(synchronized, inverted_nesting_of_two_values_is_reported) {
  lock_order_scope checking{true};
  synchronized<int> from{lock_name{"from"}, 10};
  synchronized<int> to{lock_name{"to"}, 0};
  from.with_lock([&](int& f) { to.with_lock([&](int& t) { t += f; }); });
  try {
    to.with_lock([&](int&) { from.with_lock([](int&) {}); });
    FAIL() << "inversion not reported";
  } catch (const trident::sync::lock_order_error& e) {
    EXPECT_EQ(e.requested(), "from");
    EXPECT_EQ(e.held(), "to");
    EXPECT_NE(std::string(e.requested_at().file_name()).find("synchronized_test.cpp"), std::string::npos)
        << "with_lock should report its caller's location, not its own";
  }
}

}  // namespace
