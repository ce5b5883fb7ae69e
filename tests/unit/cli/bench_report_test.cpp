// What `trident bench` makes of its results (app/bench): ratios with their ranges, targets, the
// one table, the --json lines and the results document both ways, `bench compare`, the report
// page's structure and the progress line's text. Results are made up here; nothing is measured.

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "compare_runs.hpp"
#include "html_report.hpp"
#include "progress_line.hpp"
#include "report.hpp"
#include "results_json.hpp"

using namespace trident::bench;

namespace {

result row(std::string c, std::string impl, double value, double low, double high, std::string unit = "tasks/s") {
  const bool higher = unit.ends_with("/s");
  return result{"threads", std::move(c), std::move(impl), value, std::move(unit), higher, "", low, high, 3};
}

suite_results sample() {
  suite_results s;
  s.suite = "threads";
  s.rows = {row("spawn_empty", "trident", 12, 10, 14), row("spawn_empty", "tbb", 6, 5, 7),
            row("fib30", "trident", 0.05, 0.04, 0.06, "s"), row("fib30", "tbb", 0.1, 0.1, 0.1, "s")};
  s.notes = {"a note"};
  s.targets = {{"spawn_empty", "trident", "tbb", 2.5, ">=2.5x tbb"}, {"fib30", "trident", "", 0.04, "<=0.04 s"}};
  return s;
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

}  // namespace

TEST(bench_report, advantage_of_a_rate_and_of_a_cost_with_the_range_of_the_rounds) {
  const auto s = sample();
  const auto rate = advantage(s.rows[0], s.rows[1]);
  ASSERT_TRUE(rate);
  EXPECT_DOUBLE_EQ(rate->median, 2.0);
  EXPECT_DOUBLE_EQ(rate->low, 10.0 / 7);  // Trident's worst round against tbb's best
  EXPECT_DOUBLE_EQ(rate->high, 14.0 / 5);
  const auto cost = advantage(s.rows[2], s.rows[3]);
  ASSERT_TRUE(cost);
  EXPECT_DOUBLE_EQ(cost->median, 2.0);  // half the time: twice as good
  EXPECT_DOUBLE_EQ(cost->low, 0.1 / 0.06);
  EXPECT_DOUBLE_EQ(cost->high, 0.1 / 0.04);
}

TEST(bench_report, targets_are_checked_and_give_the_line_a_chart_draws) {
  const auto s = sample();
  const auto versus = check_target(s.targets[0], s.rows);
  ASSERT_TRUE(versus);
  EXPECT_FALSE(versus->met);  // 2x, not 2.5x
  EXPECT_DOUBLE_EQ(versus->figure, 2.0);
  EXPECT_DOUBLE_EQ(*target_value(s.targets[0], s.rows), 15.0);  // 2.5 x tbb's 6 tasks/s
  const auto own = check_target(s.targets[1], s.rows);
  ASSERT_TRUE(own);
  EXPECT_FALSE(own->met);  // 0.05 s, not <= 0.04
  EXPECT_DOUBLE_EQ(*target_value(s.targets[1], s.rows), 0.04);
  EXPECT_FALSE(check_target({"nosuch", "trident", "", 1, "x"}, s.rows));
}

TEST(bench_report, the_table_has_every_row_its_ratio_the_targets_and_the_notes) {
  std::ostringstream out;
  print_table(out, sample());
  const std::string text = out.str();
  EXPECT_NE(text.find("trident 2.00x (1.43-2.80)"), std::string::npos) << text;
  EXPECT_NE(text.find("spawn_empty: >=2.5x tbb"), std::string::npos) << text;
  EXPECT_NE(text.find("2.00x: MISSED"), std::string::npos) << text;
  EXPECT_NE(text.find("note: a note"), std::string::npos) << text;
  EXPECT_EQ(count(text, "trident "), 2U + 2U) << text;  // two ratio cells, two trident rows
}

TEST(bench_report, json_lines_and_the_results_document_read_back_as_written) {
  const auto s = sample();
  std::ostringstream lines;
  lines << "note: not a row\n";
  for (const auto& r : s.rows) print_json_line(lines, r);
  const auto parsed = parse_json_lines(lines.str());
  ASSERT_EQ(parsed.size(), 1U);
  ASSERT_EQ(parsed[0].rows.size(), s.rows.size());
  EXPECT_EQ(parsed[0].rows[3].impl, "tbb");
  EXPECT_FALSE(parsed[0].rows[3].higher_is_better);
  EXPECT_EQ(parsed[0].rows[0].high, 14);
  EXPECT_EQ(parsed[0].rows[0].runs, 3U);

  // A line of the older format (five keys) is one round at its value.
  const auto old = parse_json_lines(R"({"suite":"async","case":"c","impl":"trident","value":2,"unit":"rt/s"})");
  ASSERT_EQ(old.size(), 1U);
  EXPECT_TRUE(old[0].rows[0].higher_is_better);
  EXPECT_EQ(old[0].rows[0].low, 2);

  const auto back = suite_results_from_json(to_json(s));
  EXPECT_EQ(back.suite, "threads");
  EXPECT_EQ(back.rows.size(), 4U);
  EXPECT_EQ(back.notes, s.notes);
  ASSERT_EQ(back.targets.size(), 2U);
  EXPECT_EQ(back.targets[0].versus, "tbb");
  EXPECT_DOUBLE_EQ(back.targets[0].bound, 2.5);
  EXPECT_THROW((void)parse_json_lines("{not json"), std::invalid_argument);
}

TEST(bench_compare, prints_the_baseline_change_and_each_ratio_change_with_ranges) {
  const auto a = sample().rows;
  auto b = a;
  b[0] = row("spawn_empty", "trident", 18, 16, 20);  // Trident 1.5x faster, tbb unchanged
  std::ostringstream out;
  print_comparison(out, a, b);
  const std::string text = out.str();
  EXPECT_NE(text.find("+50%"), std::string::npos) << text;               // trident's own median
  EXPECT_NE(text.find("2.00x (1.43-2.80)"), std::string::npos) << text;  // A's ratio to tbb
  EXPECT_NE(text.find("3.00x (2.29-4.00)"), std::string::npos) << text;  // B's
  EXPECT_NE(text.find("fib30"), std::string::npos) << text;
  EXPECT_EQ(count(text, "+0%"), 2U) << text;  // fib30 moved nothing: its median and its ratio
}

TEST(bench_html_report, one_chart_per_case_with_ratios_targets_and_the_machine) {
  machine_info m;
  m.cores = 2;
  m.kernel = "Linux 6 x86_64";
  m.compiler = "g++ 12";
  m.date = "2026-12-07T13:00:00Z";
  const std::string page = render_html_report({sample()}, m);
  EXPECT_EQ(count(page, "<figure class=\"case\""), 2U);
  EXPECT_EQ(count(page, "<g class=\"target\">"), 2U);
  EXPECT_NE(page.find("trident 2.00× (1.43–2.80)"), std::string::npos);
  EXPECT_NE(page.find("2026-12-07T13:00:00Z"), std::string::npos);
  EXPECT_NE(page.find("Linux 6 x86_64"), std::string::npos);
  // Self-contained: nothing is fetched.
  EXPECT_EQ(page.find("http://"), std::string::npos);
  EXPECT_EQ(page.find("https://"), std::string::npos);
  EXPECT_EQ(page.find(" src="), std::string::npos);
}

TEST(bench_progress, says_suite_case_round_and_eta_within_the_width) {
  progress_point p{"threads", "future_int", 2, 4, 1, 3, 42.0};
  EXPECT_EQ(progress_text(p, 200), "bench threads · case 2/4 future_int · round 1/3 · ETA 0:42");
  p.round = 0;
  p.eta_s.reset();
  EXPECT_EQ(progress_text(p, 200), "bench threads · case 2/4 future_int · warm-up · ETA ?");
  EXPECT_EQ(progress_text(p, 16), "bench threads · ");
}
