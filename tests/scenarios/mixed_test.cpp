// The mixed scenario ("50 datasets: fetch + analyse") on the small size: the analysis finds what
// is in a dataset and refuses what is not one; every model (sequential, threads, fetch-then-
// analyse, pipelined) reaches the same summaries; the server goes with the scenario.

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "dataset_analysis.hpp"
#include "loopback_internet.hpp"
#include "mixed.hpp"
#include "process_probe.hpp"
#include "scenario_runner.hpp"
#include "scenario.hpp"

namespace trident::scenarios {
namespace {

std::string csv_of(const std::vector<double>& values) {
  std::string out = "t,value\n";
  for (std::size_t i = 0; i < values.size(); ++i)
    out += std::to_string(1'700'000'000 + 60 * i) + "," + std::to_string(values[i]) + "\n";
  return out;
}

TEST(DatasetAnalysis, FindsTheStatisticsOfAKnownSeries) {
  std::vector<double> values;
  for (int i = 1; i <= 101; ++i) values.push_back(i);
  const dataset_summary s = analyse_dataset(csv_of(values));
  EXPECT_EQ(s.rows, 101u);
  EXPECT_DOUBLE_EQ(s.mean, 51);
  EXPECT_DOUBLE_EQ(s.median, 51);
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.max, 101);
  EXPECT_DOUBLE_EQ(s.p05, 6);
  EXPECT_DOUBLE_EQ(s.p95, 96);
  EXPECT_NEAR(s.stddev, std::sqrt(101.0 * 102 / 12), 1e-9);
  EXPECT_NEAR(s.trend_per_day, 1440, 1e-6) << "one unit a minute";
}

TEST(DatasetAnalysis, FindsTheDailyCycleOfTheServersDatasets) {
  // One row a minute with a daily cycle: the strongest correlation is about 1440 rows away.
  const dataset_summary s = analyse_dataset(dataset_body(5, 6000));
  EXPECT_EQ(s.rows, 6000u);
  EXPECT_NEAR(static_cast<double>(s.period_rows), 1440, 40);
  EXPECT_GT(s.period_strength, 0.3);
  EXPECT_EQ(summary_digest(s), summary_digest(analyse_dataset(dataset_body(5, 6000))));
  EXPECT_NE(summary_digest(s), summary_digest(analyse_dataset(dataset_body(6, 6000))));
}

TEST(DatasetAnalysis, RefusesWhatIsNotADataset) {
  EXPECT_THROW((void)analyse_dataset(""), std::invalid_argument);
  EXPECT_THROW((void)analyse_dataset("x,y\n1,2\n"), std::invalid_argument);
  EXPECT_THROW((void)analyse_dataset(csv_of({1, 2, 3})), std::invalid_argument) << "too few rows";
  std::string bad = csv_of(std::vector<double>(20, 1.5));
  bad += "1700009999,abc\n";
  try {
    (void)analyse_dataset(bad);
    FAIL() << "a row that is not two numbers must be refused";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("line 22"), std::string::npos) << e.what();
  }
}

TEST(Datasets, AreDrawnFromTheSeed) {
  const auto small = draw_datasets(scale::small, 42);
  ASSERT_EQ(small.size(), 12u);
  EXPECT_EQ(small.front().path, draw_datasets(scale::small, 42).front().path);
  EXPECT_NE(small.front().path, draw_datasets(scale::small, 43).front().path);
  const auto full = draw_datasets(scale::full, 42);
  ASSERT_EQ(full.size(), 50u);
  for (const dataset_url& d : full) {
    EXPECT_GE(d.rows, 50'000u);
    EXPECT_LT(d.rows, 100'000u);
    EXPECT_GE(d.delay_ms, 100u);
    EXPECT_LT(d.delay_ms, 500u);
  }
}

TEST(MixedScenario, EveryModelReachesTheSameSummaries) {
  scenario_options options;
  options.size = scale::small;
  options.cores = 2;
  scenario s = make_mixed_scenario(options);
  EXPECT_EQ(s.name, "mixed");
  EXPECT_EQ(s.lesson_choice, "hybrid");
  std::vector<std::string> names;
  for (const model& m : s.models) names.push_back(m.name);
  EXPECT_EQ(names, (std::vector<std::string>{"sequential", "threads_8", "fetch_then_analyse", "hybrid_pipelined"}));

  const int server_pid = std::static_pointer_cast<loopback_internet>(s.resources)->pid();
  const scenario_report report = run_scenario(s);
  ASSERT_EQ(report.runs.size(), s.models.size());
  for (const model_run& run : report.runs) {
    SCOPED_TRACE(run.model);
    ASSERT_TRUE(run.ok) << run.error;
    EXPECT_TRUE(run.same_results);
    EXPECT_EQ(run.result.items, 12u);
    EXPECT_EQ(run.result.failed, 0u);
    EXPECT_EQ(run.result.digest, report.runs.front().result.digest);
    EXPECT_EQ(run.result.detail, "12 with a daily cycle");
    if (run.family == "sequential") {
      EXPECT_EQ(run.cost.peak_processes, 1) << "the server is not in the measured tree";
    }
    if (run.family == "hybrid") {
      EXPECT_GT(run.cost.peak_processes, 1);
    }
  }
  print_report(stdout, report);

  s = scenario{};
  EXPECT_TRUE(testing::gone_within(server_pid, std::chrono::seconds(10))) << "the server outlived its scenario";
}

/// The full size, for figures (a few minutes): run with --gtest_also_run_disabled_tests.
TEST(MixedScenario, DISABLED_FullSizeReport) {
  scenario_options options;
  options.size = scale::full;
  scenario s = make_mixed_scenario(options);
  run_options run;
  run.repeat = 3;
  run.say = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
  const scenario_report report = run_scenario(s, run);
  print_report(stdout, report);
  for (const std::string& line : json_lines(report)) std::printf("%s\n", line.c_str());
  for (const model_run& r : report.runs) EXPECT_TRUE(r.ok && r.same_results) << r.model << ": " << r.error;
}

}  // namespace
}  // namespace trident::scenarios
