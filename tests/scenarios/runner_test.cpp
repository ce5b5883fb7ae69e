// The runner on scenarios made in the test: rounds, an interrupted run that recommends nothing
// and says what ran, the table's wording, and the JSON lines with the rule's reason. The models
// here run in this process (a scenario the catalog does not know cannot be made again elsewhere).

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scenario_runner.hpp"
#include "scenario.hpp"

namespace trident::scenarios {
namespace {

/// A scenario of `names`, each model returning the same result; `calls` counts the runs.
scenario counting_scenario(const std::vector<std::string>& names, std::atomic<int>& calls, std::size_t failed = 0) {
  scenario s;
  s.name = "made_in_test";
  s.title = "three models";
  s.lesson_choice = "threads";
  s.inputs.size = scale::small;
  for (const std::string& name : names) {
    const std::string family = name.substr(0, name.find('_'));
    s.models.push_back({name, family, 1, "counts", [&calls, failed] {
                          ++calls;
                          return model_result{40, failed, 1234, {}};
                        }});
  }
  return s;
}

TEST(Runner, RunsEveryModelOncePerRoundAndKeepsTheRange) {
  std::atomic<int> calls{0};
  const scenario s = counting_scenario({"sequential", "threads_2", "async_2"}, calls);
  run_options options;
  options.repeat = 3;
  const scenario_report report = run_scenario(s, options);
  EXPECT_EQ(calls.load(), 9);
  ASSERT_EQ(report.runs.size(), 3u);
  for (const model_run& r : report.runs) {
    EXPECT_EQ(r.runs, 3u) << r.model;
    EXPECT_LE(r.wall_min, r.cost.wall_seconds);
    EXPECT_GE(r.wall_max, r.cost.wall_seconds);
  }
  EXPECT_FALSE(report.interrupted);
  EXPECT_TRUE(report.pick.has_value());
}

TEST(Runner, SmallScenariosRunThreeRoundsByDefault) {
  std::atomic<int> calls{0};
  const scenario s = counting_scenario({"sequential"}, calls);
  const scenario_report report = run_scenario(s);
  EXPECT_EQ(calls.load(), 3);
}

TEST(Runner, AnInterruptedRunIsMarkedPartialRecommendsNothingAndSaysWhatRan) {
  std::atomic<int> calls{0};
  const scenario s = counting_scenario({"sequential", "threads_10", "async_libpq"}, calls);
  run_options options;
  options.repeat = 1;
  options.stop_requested = [&calls] { return calls.load() >= 1; };  // Ctrl-C during the first model
  const scenario_report report = run_scenario(s, options);
  EXPECT_TRUE(report.interrupted);
  EXPECT_FALSE(report.pick.has_value());
  ASSERT_EQ(report.runs.size(), 1u);
  EXPECT_FALSE(report.runs.front().recommended);
  EXPECT_EQ(report.not_run, (std::vector<std::string>{"threads_10", "async_libpq"}));
  const std::string table = format_report(report);
  EXPECT_NE(table.find("INTERRUPTED: partial results"), std::string::npos) << table;
  EXPECT_NE(table.find("no recommendation: the run was interrupted; ran: sequential (1 run); not run: threads_10, "
                       "async_libpq"),
            std::string::npos)
      << table;
  EXPECT_EQ(table.find("recommended"), std::string::npos) << table;
  const std::vector<std::string> lines = json_lines(report);
  const auto summary = nlohmann::json::parse(lines.back());
  EXPECT_TRUE(summary.at("summary").get<bool>());
  EXPECT_TRUE(summary.at("partial").get<bool>());
  EXPECT_TRUE(summary.at("recommended").is_null());
}

TEST(Runner, AStopBeforeAnyModelRunsNothing) {
  std::atomic<int> calls{0};
  const scenario s = counting_scenario({"sequential", "threads_2"}, calls);
  run_options options;
  options.stop_requested = [] { return true; };
  const scenario_report report = run_scenario(s, options);
  EXPECT_EQ(calls.load(), 0);
  EXPECT_TRUE(report.interrupted);
  EXPECT_TRUE(report.runs.empty());
  EXPECT_NE(format_report(report).find("ran: none; not run: sequential, threads_2"), std::string::npos)
      << format_report(report);
}

TEST(Runner, TheResultsColumnSaysWhichFailuresAreMeantToHappen) {
  std::atomic<int> calls{0};
  const scenario s = counting_scenario({"sequential"}, calls, 3);
  run_options options;
  options.repeat = 1;
  const std::string table = format_report(run_scenario(s, options));
  EXPECT_NE(table.find("same 37/40 ok (3 meant to fail)"), std::string::npos) << table;
}

TEST(Runner, TheJsonSummaryCarriesTheRulesReasonAndTheTies) {
  std::atomic<int> calls{0};
  const scenario s = counting_scenario({"sequential", "threads_2"}, calls);
  run_options options;
  options.repeat = 1;
  scenario_report report = run_scenario(s, options);
  ASSERT_TRUE(report.pick.has_value());
  const std::vector<std::string> lines = json_lines(report);
  ASSERT_EQ(lines.size(), 3u);
  for (std::size_t i = 0; i < 2; ++i) {
    const auto line = nlohmann::json::parse(lines[i]);
    EXPECT_EQ(line.at("runs").get<int>(), 1);
    EXPECT_TRUE(line.contains("tie"));
  }
  const auto summary = nlohmann::json::parse(lines.back());
  EXPECT_EQ(summary.at("recommended").get<std::string>(), report.pick->model);
  EXPECT_EQ(summary.at("reason").get<std::string>(), report.pick->reason);
  EXPECT_FALSE(summary.at("partial").get<bool>());
  // The small-size remark says what dominates there.
  bool small_remark = false;
  for (const auto& remark : summary.at("remarks")) {
    small_remark |= remark.get<std::string>().find("At --size small") != std::string::npos;
  }
  EXPECT_TRUE(small_remark) << lines.back();
}

}  // namespace
}  // namespace trident::scenarios
