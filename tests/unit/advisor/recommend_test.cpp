// The advisor's rule: the fastest correct model, unless a near tie is far lighter.

#include <gtest/gtest.h>

#include <vector>

#include "trident/advisor/recommend.hpp"

namespace trident::advisor {
namespace {

candidate make(const char* name, double wall, std::uint64_t bytes, int threads, bool correct = true) {
  candidate c;
  c.model = name;
  c.cost.wall_seconds = wall;
  c.cost.peak_bytes = bytes;
  c.cost.peak_threads = threads;
  c.cost.peak_processes = 1;
  c.correct = correct;
  return c;
}

TEST(Recommend, PicksTheFastestWhenNothingIsClose) {
  const std::vector<candidate> runs{make("sequential", 10, 10'000'000, 1), make("threads_10", 2, 20'000'000, 11),
                                    make("async_50", 1, 15'000'000, 2)};
  const auto pick = recommend(runs, 200);
  ASSERT_TRUE(pick);
  EXPECT_EQ(pick->model, "async_50");
  EXPECT_EQ(pick->index, 2u);
  EXPECT_NE(pick->reason.find("200 items in 1.00 s"), std::string::npos) << pick->reason;
  EXPECT_NE(pick->reason.find("threads_10"), std::string::npos) << pick->reason;
}

TEST(Recommend, PrefersANearTieWithFarLessMemory) {
  const std::vector<candidate> runs{make("threads_200", 1.00, 210'000'000, 201), make("async_200", 1.08, 14'000'000, 2)};
  const auto pick = recommend(runs);
  ASSERT_TRUE(pick);
  EXPECT_EQ(pick->model, "async_200");
  EXPECT_NE(pick->reason.find("threads_200 was within 10%"), std::string::npos) << pick->reason;
}

TEST(Recommend, PrefersANearTieWithFarFewerThreadsWhenMemoryIsAlike) {
  const std::vector<candidate> runs{make("threads_200", 1.00, 20'000'000, 201), make("async_200", 1.05, 19'000'000, 2)};
  EXPECT_EQ(recommend(runs)->model, "async_200");
}

TEST(Recommend, KeepsTheFastestWhenTheLighterOneIsTooSlow) {
  const std::vector<candidate> runs{make("threads_200", 1.00, 210'000'000, 201), make("async_200", 1.2, 14'000'000, 2)};
  EXPECT_EQ(recommend(runs)->model, "threads_200");
}

TEST(Recommend, IgnoresModelsWithWrongResults) {
  const std::vector<candidate> runs{make("broken", 0.1, 1'000, 1, false), make("threads_2", 1.0, 1'000'000, 3)};
  EXPECT_EQ(recommend(runs)->model, "threads_2");
  const std::vector<candidate> none{make("broken", 0.1, 1'000, 1, false)};
  EXPECT_FALSE(recommend(none));
}

TEST(FormatBytes, UsesDecimalUnits) {
  EXPECT_EQ(format_bytes(999), "999 B");
  EXPECT_EQ(format_bytes(14'200'000), "14.2 MB");
  EXPECT_EQ(format_bytes(1'300'000'000), "1.3 GB");
}

}  // namespace
}  // namespace trident::advisor
