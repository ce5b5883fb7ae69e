// `trident bench` end to end for what it writes besides its table: --report (the page, written
// whole), the --json lines' ranges, `bench compare` of two saved runs, the progress line kept
// off a pipe, and the words `bench all` and `bench compare` refuse. One quick real case runs
// (process/pool_start, one round); nothing is timed.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "run_cli.hpp"
#include "trident/testing/temp_dir.hpp"

namespace fs = std::filesystem;

#ifdef TRIDENT_CLI_PATH

namespace {

using trident::testing::cli_result;
using trident::testing::read_text;
using trident::testing::temp_dir;

/// Runs `trident ARGS` (ARGS as the shell reads them) in `dir`, stdout and stderr to files there.
cli_result run_cli(const temp_dir& dir, const std::string& args) {
  return trident::testing::run_program_in(dir.path, TRIDENT_CLI_PATH, args);
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

}  // namespace

TEST(cli_bench_report, report_writes_a_page_of_the_cases_run_and_no_progress_goes_to_a_pipe) {
  temp_dir dir{"trident-bench-report"};
  const auto r = run_cli(dir, "bench process --case pool_start --repeat 1 --json --report run.html");
  ASSERT_EQ(r.code, 0) << r.err;
  // The --json lines carry each row's rounds.
  EXPECT_TRUE(contains(r.out, R"("case":"pool_start","impl":"trident")")) << r.out;
  EXPECT_TRUE(contains(r.out, R"("runs":1,"better":"lower")")) << r.out;
  // stderr is a file here: no progress line, no terminal control characters.
  EXPECT_FALSE(contains(r.err, "\r")) << r.err;
  EXPECT_FALSE(contains(r.err, "\033")) << r.err;
  EXPECT_TRUE(contains(r.err, "report written to run.html")) << r.err;
  const std::string page = read_text(dir.path / "run.html");
  EXPECT_TRUE(contains(page, R"(<figure class="case" data-suite="process" data-case="pool_start">)"));
  EXPECT_TRUE(contains(page, "</html>"));
  // Written whole under its name: no temporary beside it.
  for (const auto& e : fs::directory_iterator(dir.path)) {
    EXPECT_FALSE(contains(e.path().filename().string(), ".part-")) << e.path();
  }
}

TEST(cli_bench_report, compare_prints_each_ratio_change_with_its_range) {
  temp_dir dir{"trident-bench-compare"};
  // Lines as `trident bench threads --json` prints them.
  const auto line = [](const std::string& impl, int value, int low, int high) {
    return R"({"suite":"threads","case":"spawn_empty","impl":")" + impl + R"(","value":)" + std::to_string(value) +
           R"(,"unit":"tasks/s","low":)" + std::to_string(low) + R"(,"high":)" + std::to_string(high) +
           R"(,"runs":3,"better":"higher"})" + "\n";
  };
  const std::string a = line("trident", 12, 10, 14) + line("tbb", 6, 5, 7);
  const std::string b = line("trident", 18, 16, 20) + line("tbb", 6, 5, 7);
  write(dir.path / "a.json", "note: notes are skipped\n" + a);
  write(dir.path / "b.json", b);
  const auto r = run_cli(dir, "bench compare a.json b.json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "spawn_empty")) << r.out;
  EXPECT_TRUE(contains(r.out, "vs tbb")) << r.out;
  EXPECT_TRUE(contains(r.out, "2.00x (1.43-2.80)")) << r.out;  // A: 12 / 6, 10 / 7 to 14 / 5
  EXPECT_TRUE(contains(r.out, "+50%")) << r.out;

  const auto missing = run_cli(dir, "bench compare a.json");
  EXPECT_EQ(missing.code, 2);
  EXPECT_TRUE(contains(missing.err, "two files")) << missing.err;
  write(dir.path / "empty.json", "");
  const auto empty = run_cli(dir, "bench compare a.json empty.json");
  EXPECT_NE(empty.code, 0);
  EXPECT_TRUE(contains(empty.err, "holds no results")) << empty.err;
}

TEST(cli_bench_report, all_refuses_a_case_and_a_suite_refuses_extra_words) {
  temp_dir dir{"trident-bench-all"};
  const auto all = run_cli(dir, "bench all --case spawn_empty");
  EXPECT_EQ(all.code, 2);
  EXPECT_TRUE(contains(all.err, "--case")) << all.err;
  const auto extra = run_cli(dir, "bench threads more.json");
  EXPECT_EQ(extra.code, 2);
  EXPECT_TRUE(contains(extra.err, "more.json")) << extra.err;
  const auto folder = run_cli(dir, "bench threads --report /nonexistent/dir/r.html");
  EXPECT_NE(folder.code, 0);
  EXPECT_TRUE(contains(folder.err, "folder '/nonexistent/dir' of the report does not exist")) << folder.err;
}

#endif  // TRIDENT_CLI_PATH
