#include "trident/exec/thread_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <vector>

#include "trident/exec/as_completed.hpp"
#include "trident/exec/task_group.hpp"

namespace trident::exec {
namespace {

TEST(thread_pool_stress, one_million_posted_tasks_all_run) {
  std::atomic<long> sum{0};
  {
    thread_pool pool(4);
    task_group g(pool);
    for (long i = 0; i < 1'000'000; ++i) g.run([&sum, i] { sum.fetch_add(i, std::memory_order_relaxed); });
    g.wait();
  }
  EXPECT_EQ(sum.load(), 999'999L * 1'000'000L / 2);
}

TEST(thread_pool_stress, submitters_on_many_threads_with_random_cancellation) {
  thread_pool pool(3);
  constexpr int submitters = 4, per_thread = 20'000;
  std::atomic<long> ran{0}, cancelled{0}, values{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < submitters; ++t) {
    threads.emplace_back([&, t] {
      std::minstd_rand rng(static_cast<unsigned>(t + 1));
      std::vector<future<int>> fs;
      fs.reserve(per_thread);
      for (int i = 0; i < per_thread; ++i)
        fs.push_back(pool.submit([&ran, i] {
          ran++;
          return i;
        }));
      for (auto& f : fs) {
        if (rng() % 4 == 0) f.cancel();
      }
      for (auto& f : fs) {
        try {
          values += f.get();
        } catch (const cancelled_error&) {
          cancelled++;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  // Every future ended exactly one way, and a task ran iff its future was not cancelled.
  EXPECT_EQ(ran.load() + cancelled.load(), long{submitters} * per_thread);
}

long tree(thread_pool& pool, int depth) {
  if (depth == 0) return 1;
  auto left = pool.submit([&pool, depth] { return tree(pool, depth - 1); });
  auto right = pool.submit([&pool, depth] { return tree(pool, depth - 1); });
  return left.get() + right.get();
}

TEST(thread_pool_stress, deep_nested_waits_on_two_workers) {
  thread_pool pool(2);
  EXPECT_EQ(pool.submit([&] { return tree(pool, 14); }).get(), 1L << 14);
}

TEST(thread_pool_stress, repeated_create_submit_destroy) {
  for (int round = 0; round < 200; ++round) {
    thread_pool pool(2);
    std::vector<future<int>> fs;
    for (int i = 0; i < 50; ++i) fs.push_back(pool.submit([i] { return i; }));
    int sum = 0;
    for (auto& f : as_completed(fs)) sum += f.get();
    ASSERT_EQ(sum, 49 * 50 / 2);
    if (round % 2 == 0) pool.shutdown(shutdown_mode::cancel_pending);
  }
}

}  // namespace
}  // namespace trident::exec
