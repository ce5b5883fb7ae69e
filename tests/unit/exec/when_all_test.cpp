#include "trident/exec/when_all.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "trident/exec/thread_pool.hpp"

namespace trident::exec {
namespace {

TEST(when_all, collects_values_in_input_order) {
  thread_pool pool(2);
  std::vector<future<int>> fs;
  for (int i = 0; i < 20; ++i) fs.push_back(pool.submit([i] { return i * 3; }));
  auto all = when_all(std::move(fs)).get();
  ASSERT_EQ(all.size(), 20u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(all[static_cast<std::size_t>(i)], i * 3);
}

TEST(when_all, first_failure_in_input_order_wins) {
  std::vector<promise<int>> ps(3);
  std::vector<future<int>> fs;
  for (auto& p : ps) fs.push_back(p.get_future());
  auto all = when_all(std::move(fs));
  ps[2].set_exception(std::make_exception_ptr(std::runtime_error("third")));
  EXPECT_FALSE(all.ready());
  ps[1].set_exception(std::make_exception_ptr(std::runtime_error("second")));
  ps[0].set_value(0);
  try {
    all.get();
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "second");
  }
}

TEST(when_all, empty_and_void) {
  EXPECT_TRUE(when_all(std::vector<future<int>>{}).get().empty());
  thread_pool pool(1);
  std::vector<future<void>> fs;
  int hits = 0;
  for (int i = 0; i < 3; ++i) fs.push_back(pool.submit([&hits] { ++hits; }));
  when_all(std::move(fs)).get();
  EXPECT_EQ(hits, 3);
}

TEST(when_any, reports_the_first_finished_index) {
  std::vector<promise<int>> ps(3);
  std::vector<future<int>> fs;
  for (auto& p : ps) fs.push_back(p.get_future());
  auto first = when_any(fs);
  EXPECT_FALSE(first.ready());
  ps[1].set_value(11);
  EXPECT_EQ(first.get(), 1u);
  EXPECT_EQ(fs[1].get(), 11);
  ps[0].set_value(0);
  ps[2].set_value(2);
}

TEST(when_any, rejects_empty_input) {
  std::vector<future<int>> none;
  EXPECT_THROW(when_any(none), std::invalid_argument);
}

}  // namespace
}  // namespace trident::exec
