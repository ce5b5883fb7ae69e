#include "trident/exec/as_completed.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "trident/exec/thread_pool.hpp"

namespace trident::exec {
namespace {

using namespace std::chrono_literals;

TEST(as_completed, yields_in_completion_order_not_submission_order) {
  std::vector<promise<int>> promises(3);
  std::vector<future<int>> futures;
  for (auto& p : promises) futures.push_back(p.get_future());
  auto range = as_completed(futures);
  promises[2].set_value(2);
  promises[0].set_value(0);
  EXPECT_EQ(range.next()->get(), 2);
  EXPECT_EQ(range.next()->get(), 0);
  std::thread late([&] { promises[1].set_value(1); });
  EXPECT_EQ(range.next()->get(), 1);
  EXPECT_EQ(range.next(), nullptr);
  late.join();
}

TEST(as_completed, range_for_visits_every_future_once_including_failures) {
  thread_pool pool(2);
  std::vector<future<int>> fs;
  for (int i = 0; i < 50; ++i) {
    fs.push_back(pool.submit([i]() -> int {
      if (i % 10 == 0) throw std::runtime_error("fail");
      return i;
    }));
  }
  int values = 0, failures = 0;
  for (auto& f : as_completed(fs)) {
    try {
      f.get();
      ++values;
    } catch (const std::runtime_error&) {
      ++failures;
    }
  }
  EXPECT_EQ(values, 45);
  EXPECT_EQ(failures, 5);
}

TEST(as_completed, next_for_throws_timeout_error_when_nothing_finishes) {
  promise<int> p;
  std::vector<future<int>> fs;
  fs.push_back(p.get_future());
  auto range = as_completed(fs);
  EXPECT_THROW(range.next_for(20ms), timeout_error);
  p.set_value(1);
  EXPECT_EQ(range.next_for(1s)->get(), 1);
}

TEST(as_completed, abandoning_iteration_early_is_safe) {
  std::vector<promise<int>> promises(4);
  {
    std::vector<future<int>> fs;
    for (auto& p : promises) fs.push_back(p.get_future());
    auto range = as_completed(fs);
    promises[0].set_value(0);
    EXPECT_EQ(range.next()->get(), 0);
  }
  // The range and futures are gone; completing the rest must not touch freed memory (ASan).
  for (std::size_t i = 1; i < promises.size(); ++i) promises[i].set_value(static_cast<int>(i));
}

TEST(as_completed, works_inside_a_single_worker_pool) {
  thread_pool pool(1);
  auto total = pool.submit([&pool] {
    std::vector<future<int>> fs;
    for (int i = 1; i <= 10; ++i) fs.push_back(pool.submit([i] { return i; }));
    int sum = 0;
    for (auto& f : as_completed(fs)) sum += f.get();
    return sum;
  });
  EXPECT_EQ(total.get(), 55);
}

}  // namespace
}  // namespace trident::exec
