// `trident soak`'s growth check (app/commands/soak_bounds.hpp): fed samples, it names each
// resource beyond its bound with the baseline, the value and the bound, and nothing else.

#include "soak_bounds.hpp"

#include <gtest/gtest.h>

#include <string>

namespace soak = trident::cli::soak;

namespace {

soak::resource_sample baseline() {
  soak::resource_sample s;
  s.rss_bytes = std::int64_t{40} << 20;
  s.descriptors = 30;
  s.memfds = 6;
  s.shmem_bytes = std::int64_t{100} << 20;
  s.threads = 20;
  s.processes = 4;
  return s;
}

}  // namespace

TEST(soak_bounds, within_every_bound_is_no_violation) {
  const soak::growth_limits limits;
  auto now = baseline();
  EXPECT_TRUE(soak::check_growth(baseline(), now, limits).empty());
  // Exactly at each bound is still within it.
  now.rss_bytes += limits.rss_bytes;
  now.descriptors += limits.descriptors;
  now.memfds += limits.memfds;
  now.shmem_bytes += limits.shmem_bytes;
  now.threads += limits.threads;
  now.processes += limits.processes;
  EXPECT_TRUE(soak::check_growth(baseline(), now, limits).empty());
  // Shrinking is never growth.
  soak::resource_sample less;
  EXPECT_TRUE(soak::check_growth(baseline(), less, limits).empty());
}

TEST(soak_bounds, a_descriptor_past_the_bound_is_named_with_start_now_and_bound) {
  soak::growth_limits limits;
  limits.descriptors = 64;
  auto now = baseline();
  now.descriptors = 30 + 65;
  const auto v = soak::check_growth(baseline(), now, limits);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].resource, "open descriptors");
  EXPECT_EQ(v[0].start, 30);
  EXPECT_EQ(v[0].now, 95);
  EXPECT_EQ(v[0].bound, 94);
  EXPECT_EQ(v[0].message(), "open descriptors grew from 30 at the baseline to 95, beyond the bound 94 (baseline + 64)");
}

TEST(soak_bounds, every_resource_is_checked_and_bytes_are_said_in_mib) {
  soak::growth_limits limits;
  limits.rss_bytes = std::int64_t{8} << 20;
  limits.descriptors = 1;
  limits.memfds = 1;
  limits.shmem_bytes = std::int64_t{1} << 20;
  limits.threads = 1;
  limits.processes = 1;
  auto now = baseline();
  now.rss_bytes += (std::int64_t{8} << 20) + 1;
  now.descriptors += 2;
  now.memfds += 2;
  now.shmem_bytes += std::int64_t{2} << 20;
  now.threads += 2;
  now.processes += 2;
  const auto v = soak::check_growth(baseline(), now, limits);
  ASSERT_EQ(v.size(), 6u);
  EXPECT_EQ(v[0].resource, "RSS");
  EXPECT_EQ(v[1].resource, "open descriptors");
  EXPECT_EQ(v[2].resource, "memfd descriptors");
  EXPECT_EQ(v[3].resource, "Shmem");
  EXPECT_EQ(v[4].resource, "threads");
  EXPECT_EQ(v[5].resource, "child processes");
  EXPECT_EQ(v[0].message(),
            "RSS grew from 40.0 MiB at the baseline to 48.0 MiB, beyond the bound 48.0 MiB (baseline + 8.0 MiB)");
  EXPECT_EQ(v[5].message(), "child processes grew from 4 at the baseline to 6, beyond the bound 5 (baseline + 1)");
}

TEST(soak_bounds, only_the_resource_that_grew_is_reported) {
  const soak::growth_limits limits;
  auto now = baseline();
  now.processes += limits.processes + 1;  // a process leaked per fault would get here
  const auto v = soak::check_growth(baseline(), now, limits);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].resource, "child processes");
  EXPECT_EQ(v[0].now - v[0].start, limits.processes + 1);
}

TEST(soak_bounds, the_stated_limits_read_as_one_line) {
  EXPECT_EQ(soak::describe(soak::growth_limits{}),
            "RSS +64.0 MiB, descriptors +64, memfd descriptors +16, Shmem +256.0 MiB, threads +16, child processes +8");
}
