// The advisor's rule: the fastest correct model, unless a tie is far lighter or simpler. Every
// figure here is injected: the rule is tested on samples, never on timings.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "trident/advisor/recommend.hpp"

namespace trident::advisor {
namespace {

candidate make(const char* name, double wall, std::uint64_t bytes, int threads, bool correct = true) {
  candidate c;
  c.model = name;
  const std::string family(name);
  c.family = family.substr(0, family.find('_'));
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
  const std::vector<candidate> runs{make("threads_200", 1.00, 210'000'000, 201),
                                    make("async_200", 1.08, 14'000'000, 2)};
  const auto pick = recommend(runs);
  ASSERT_TRUE(pick);
  EXPECT_EQ(pick->model, "async_200");
  EXPECT_EQ(pick->basis, pick_basis::lighter);
  // The reason names the faster model it passed over, with both figures.
  EXPECT_NE(pick->reason.find("It ties with the fastest, threads_200 (1.00 s with 210.0 MB"), std::string::npos)
      << pick->reason;
  EXPECT_NE(pick->reason.find("Chosen as far lighter: 14.0 MB against 210.0 MB"), std::string::npos) << pick->reason;
  EXPECT_EQ(pick->fastest, 0u);
  EXPECT_EQ(pick->ties, (std::vector<std::size_t>{0}));
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

candidate with_range(candidate c, double low, double high) {
  c.wall_min = low;
  c.wall_max = high;
  return c;
}

TEST(Recommend, OverlappingRangesAreATieEvenBeyondTheTolerance) {
  // 1.30 s is 30% slower than 1.00 s: no tie on medians alone...
  const candidate threads = make("threads_200", 1.00, 210'000'000, 201);
  const candidate async = make("async_200", 1.30, 14'000'000, 2);
  EXPECT_FALSE(ties(threads, async));
  EXPECT_EQ(recommend(std::vector<candidate>{threads, async})->model, "threads_200");
  // ...but with repeats whose ranges overlap, the measurement cannot tell them apart.
  const std::vector<candidate> runs{with_range(threads, 0.80, 1.40), with_range(async, 1.20, 1.50)};
  EXPECT_TRUE(ties(runs[0], runs[1]));
  const auto pick = recommend(runs, 200);
  ASSERT_TRUE(pick);
  EXPECT_EQ(pick->model, "async_200");
  EXPECT_EQ(pick->basis, pick_basis::lighter);
  EXPECT_NE(pick->reason.find("their ranges over the repeated runs overlap"), std::string::npos) << pick->reason;
  EXPECT_NE(pick->reason.find("threads_200 (1.00 s (0.80–1.40)"), std::string::npos) << pick->reason;
  // Ranges that do not overlap are no tie.
  const std::vector<candidate> apart{with_range(threads, 0.95, 1.05), with_range(async, 1.20, 1.50)};
  EXPECT_FALSE(ties(apart[0], apart[1]));
  EXPECT_EQ(recommend(apart)->model, "threads_200");
  EXPECT_TRUE(recommend(apart)->ties.empty());
}

TEST(Recommend, OnATieWithNeitherFarLighterTheSimplerModelIsChosen) {
  // async_to_thread is the same threads behind an event loop: same footprint, a hair faster.
  const std::vector<candidate> runs{make("sequential", 2.0, 5'000'000, 1), make("threads_2", 1.02, 6'000'000, 3),
                                    make("async_to_thread_2", 1.00, 6'100'000, 4)};
  const auto pick = recommend(runs, 8);
  ASSERT_TRUE(pick);
  EXPECT_EQ(pick->model, "threads_2");
  EXPECT_EQ(pick->basis, pick_basis::simpler);
  EXPECT_NE(pick->reason.find("It ties with the fastest, async_to_thread_2"), std::string::npos) << pick->reason;
  EXPECT_NE(pick->reason.find("simpler model is chosen (threads before async)"), std::string::npos) << pick->reason;
}

TEST(Recommend, TheFastestKeepsItsPlaceWhenItsTiesAreNeitherLighterNorSimpler) {
  const std::vector<candidate> runs{make("processes_2", 1.05, 30'000'000, 3), make("threads_2", 1.00, 10'000'000, 3)};
  const auto pick = recommend(runs);
  ASSERT_TRUE(pick);
  EXPECT_EQ(pick->model, "threads_2");
  EXPECT_EQ(pick->basis, pick_basis::fastest);
  EXPECT_EQ(pick->ties, (std::vector<std::size_t>{0}));
  EXPECT_NE(pick->reason.find("in a tie with processes_2 (1.05 s): it is neither far lighter nor simpler"),
            std::string::npos)
      << pick->reason;
}

TEST(Recommend, AnExcludedModelIsNeverChosen) {
  std::vector<candidate> runs{make("threads_2", 1.00, 10'000'000, 3), make("async_to_thread_2", 0.50, 1'000'000, 2)};
  runs[1].excluded = "CPU-bound work gains nothing from an event loop";
  const auto pick = recommend(runs);
  ASSERT_TRUE(pick);
  EXPECT_EQ(pick->model, "threads_2");
  EXPECT_NE(pick->reason.find("The only model"), std::string::npos) << pick->reason;
}

TEST(FormatBytes, UsesDecimalUnits) {
  EXPECT_EQ(format_bytes(999), "999 B");
  EXPECT_EQ(format_bytes(14'200'000), "14.2 MB");
  EXPECT_EQ(format_bytes(1'300'000'000), "1.3 GB");
}

}  // namespace
}  // namespace trident::advisor
