// The db scenario on its small size: every model runs the ten queries and gets the same results;
// the scenario leaves nothing behind, even when its program is killed in the middle of a model.
// Also the helper modes that the lifecycle tests start and kill.

#include "db.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>
#include <string>

#include "process_watch.hpp"
#include "scenario_runner.hpp"

namespace trident::scenarios {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::alive;
using test::processes_in;
using test::within;

/// Blocks until stdin ends: the test that started this helper closed it, or died.
void wait_for_stdin_end() {
  char byte;
  while (::read(0, &byte, 1) > 0) {}
}

/// Whether stdin has ended (the test is gone), without waiting.
bool stdin_ended() {
  pollfd p{0, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  char byte;
  return ::read(0, &byte, 1) <= 0;
}

/// The small db scenario, or nullopt (with the reason) where PostgreSQL is not installed.
std::optional<scenario> small_db_scenario(std::string& skipped) {
  scenario_options options;
  options.size = scale::small;
  try {
    return make_db_scenario(options);
  } catch (const scenario_skipped& e) {
    skipped = e.what();
    return std::nullopt;
  }
}

TEST(DbScenario, TheTablesAndQueriesAreTheLessonsSizes) {
  EXPECT_EQ(db_sizes(scale::full).orders, 3'000'000u);
  EXPECT_EQ(db_sizes(scale::small).orders, 120'000u);
  EXPECT_EQ(db_queries().size(), 10u);
  std::set<std::string> distinct(db_queries().begin(), db_queries().end());
  EXPECT_EQ(distinct.size(), 10u);
}

TEST(DbScenario, EveryModelRunsTheTenQueriesAlikeAndNothingIsLeftAfterwards) {
  std::string skipped;
  std::optional<scenario> s = small_db_scenario(skipped);
  if (!s) GTEST_SKIP() << skipped;
  EXPECT_EQ(s->name, "db");
  EXPECT_EQ(s->title, "10 database queries");
  EXPECT_EQ(s->lesson_choice, "threads");
  const postgres_server* server = db_server_of(*s);
  ASSERT_NE(server, nullptr);
  const int postmaster = server->server_pid();
  const fs::path dir = server->directory();
  ASSERT_TRUE(alive(postmaster));

  std::set<std::string> names;
  for (const auto& m : s->models) names.insert(m.name);
  for (const char* expected : {"sequential", "threads_10", "async_to_thread", "async_libpq"}) {
    EXPECT_EQ(names.count(expected), 1u) << expected;
  }
  const bool has_processes =
      std::any_of(s->models.begin(), s->models.end(), [](const model& m) { return m.family == "processes"; });
  EXPECT_TRUE(has_processes);

  // Through the runner, as `trident scenarios db` runs it: every model measured and checked.
  const scenario_report report = run_scenario(*s);
  ASSERT_EQ(report.runs.size(), s->models.size());
  const std::uint64_t reference = report.runs.front().result.digest;
  EXPECT_NE(reference, 0u);
  for (const auto& run : report.runs) {
    EXPECT_TRUE(run.ok) << run.model << ": " << run.error;
    EXPECT_EQ(run.result.items, 10u) << run.model;
    EXPECT_EQ(run.result.failed, 0u) << run.model;
    EXPECT_EQ(run.result.digest, reference) << run.model;
    EXPECT_TRUE(run.same_results) << run.model;
    // The server is outside the measured tree: only the model's own processes count.
    if (run.family != "processes") {
      EXPECT_EQ(run.cost.peak_processes, 1) << run.model;
    }
  }
  // The same data and queries give the same digest on a second run of a model.
  EXPECT_EQ(s->models.front().run().digest, reference);

  // The postmaster and the processes it started all work in the data directory.
  EXPECT_GE(processes_in(dir / "data").size(), 2u);
  s.reset();
  EXPECT_FALSE(alive(postmaster));
  EXPECT_TRUE(processes_in(dir / "data").empty());
  EXPECT_FALSE(fs::exists(dir));
}

TEST(DbScenario, WithTheServerGoneEveryModelFailsWithAClearMessage) {
  std::string skipped;
  std::optional<scenario> s = small_db_scenario(skipped);
  if (!s) GTEST_SKIP() << skipped;
  const postgres_server* server = db_server_of(*s);
  ASSERT_NE(server, nullptr);
  const int postmaster = server->server_pid();
  const fs::path dir = server->directory();
  // The server dies under the scenario (as if the machine ran out of memory); the processes it
  // started notice and end.
  ASSERT_EQ(::kill(postmaster, SIGKILL), 0);
  ASSERT_TRUE(within(30s, [&] { return processes_in(dir / "data").empty(); }));

  const scenario_report report = run_scenario(*s);
  ASSERT_EQ(report.runs.size(), s->models.size());
  for (const auto& run : report.runs) {
    EXPECT_FALSE(run.ok) << run.model;
    EXPECT_NE(run.error.find("PostgreSQL"), std::string::npos) << run.model << ": " << run.error;
  }
  // Releasing the scenario still removes the directory.
  s.reset();
  EXPECT_FALSE(fs::exists(dir));
}

TEST(DbScenario, AProgramKilledInTheMiddleOfAModelLeavesNoServerAndNoDirectory) {
  std::string skipped;
  try {
    (void)find_postgres_bin_dir();
  } catch (const scenario_skipped& e) {
    GTEST_SKIP() << e.what();
  }
  test::helper_process program({"--run-db-scenario-until-killed"});
  const std::string line = program.read_line(300s);
  int service = 0;
  int postmaster = 0;
  char dir_text[4096] = {};
  ASSERT_EQ(std::sscanf(line.c_str(), "%d %d %4095s", &service, &postmaster, dir_text), 3)
      << "helper said '" << line << "'";
  const fs::path dir = dir_text;
  // Wait until queries run: backends beside the postmaster's own helpers (threads_10 opens ten).
  const auto backends = [&dir] {
    int n = 0;
    for (const int pid : processes_in(dir / "data")) {
      if (test::read_text("/proc/" + std::to_string(pid) + "/cmdline").find("[local]") != std::string::npos) ++n;
    }
    return n;
  };
  ASSERT_TRUE(within(60s, [&] { return backends() >= 2; })) << "no queries ran";

  program.kill();
  EXPECT_TRUE(within(30s, [&] { return processes_in(dir / "data").empty() && !alive(postmaster); }))
      << "server processes outlived the program";
  EXPECT_TRUE(within(30s, [&] { return !fs::exists(dir) && !alive(service); })) << dir << " outlived the program";
}

/// The full size, three runs per model, printed as `trident scenarios` prints it: the figures in
/// docs/scenarios.md. Minutes of work, so only on request:
/// `trident_scenarios_tests --gtest_also_run_disabled_tests --gtest_filter=DbScenario.DISABLED_FullSizeReport`.
TEST(DbScenario, DISABLED_FullSizeReport) {
  scenario_options options;
  options.size = scale::full;
  options.say = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
  scenario s;
  try {
    s = make_db_scenario(options);
  } catch (const scenario_skipped& e) {
    GTEST_SKIP() << e.what();
  }
  run_options run;
  run.repeat = 3;
  run.say = options.say;
  const scenario_report report = run_scenario(s, run);
  print_report(stdout, report);
  for (const auto& line : json_lines(report)) std::printf("%s\n", line.c_str());
  for (const auto& r : report.runs) {
    EXPECT_TRUE(r.ok) << r.model << ": " << r.error;
    EXPECT_TRUE(r.same_results) << r.model;
  }
}

}  // namespace
}  // namespace trident::scenarios

/// Helper modes of the scenario tests' program (called first in its main):
/// - `--start-postgres-and-wait BASE`: starts a private server in BASE, prints
///   "SERVICE_PID SERVER_PID DIRECTORY", and holds it until stdin ends or the test kills it;
/// - `--run-db-scenario-until-killed`: makes the small db scenario, prints the same line, and
///   runs its threads_10 model over and over until killed (or until stdin ends, so that it
///   never outlives the test).
std::optional<int> db_test_helper_main(int argc, char** argv) {
  using namespace trident::scenarios;
  if (argc > 2 && std::strcmp(argv[1], "--start-postgres-and-wait") == 0) {
    postgres_options options;
    options.base_dir = argv[2];
    postgres_server server(options);
    std::printf("%d %d %s\n", server.service_pid(), server.server_pid(), server.directory().c_str());
    std::fflush(stdout);
    wait_for_stdin_end();
    return 0;
  }
  if (argc > 1 && std::strcmp(argv[1], "--run-db-scenario-until-killed") == 0) {
    scenario_options options;
    options.size = scale::small;
    scenario s = make_db_scenario(options);
    const postgres_server* server = db_server_of(s);
    std::printf("%d %d %s\n", server->service_pid(), server->server_pid(), server->directory().c_str());
    std::fflush(stdout);
    for (const auto& m : s.models) {
      if (m.name != "threads_10") continue;
      while (!stdin_ended()) (void)m.run();
      return 0;
    }
    return 1;
  }
  return std::nullopt;
}
