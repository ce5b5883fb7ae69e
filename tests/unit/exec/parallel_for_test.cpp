#include "trident/exec/parallel_for.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace trident::exec {
namespace {

TEST(parallel_for, visits_every_index_exactly_once) {
  thread_pool pool(3);
  std::vector<std::atomic<int>> hits(10'007);
  parallel_for(pool, 0, hits.size(), [&](std::size_t i) { hits[i]++; });
  for (auto& h : hits) ASSERT_EQ(h.load(), 1);
}

TEST(parallel_for, chunk_form_covers_range_without_overlap) {
  thread_pool pool(2);
  std::vector<int> marks(1000, 0);
  parallel_for(
      pool, 100, 900,
      [&](std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i) marks[i]++;
      },
      7);
  for (std::size_t i = 0; i < marks.size(); ++i) EXPECT_EQ(marks[i], (i >= 100 && i < 900) ? 1 : 0) << i;
}

TEST(parallel_for, empty_range_calls_nothing_and_exception_propagates) {
  thread_pool pool(2);
  parallel_for(pool, 5, 5, [](std::size_t) { FAIL(); });
  EXPECT_THROW(parallel_for(pool, 0, 100,
                            [](std::size_t i) {
                              if (i == 42) throw std::out_of_range("42");
                            }),
               std::out_of_range);
}

TEST(parallel_reduce, matches_sequential_sum) {
  thread_pool pool(2);
  const std::size_t n = 1'000'000;
  auto sqrt_sum = [](std::size_t begin, std::size_t end) {
    double s = 0;
    for (std::size_t i = begin; i < end; ++i) s += std::sqrt(static_cast<double>(i));
    return s;
  };
  const double expected = sqrt_sum(0, n);
  const double got = parallel_reduce(pool, 0, n, 0.0, sqrt_sum);
  EXPECT_NEAR(got, expected, expected * 1e-12);
  EXPECT_EQ(parallel_reduce(pool, 3, 3, 7.5, sqrt_sum), 7.5);
}

TEST(parallel_for, called_from_a_worker_completes) {
  thread_pool pool(1);
  auto f = pool.submit([&pool] {
    std::atomic<int> n{0};
    parallel_for(pool, 0, 64, [&](std::size_t) { n++; });
    return n.load();
  });
  EXPECT_EQ(f.get(), 64);
}

}  // namespace
}  // namespace trident::exec
