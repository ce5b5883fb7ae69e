// `--trace FILE` on the trident command: the traces a user gets from a concurrent fetch and
// from the tour keep the Chrome trace format (tools/check_trace.py) and show what ran where.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "trace_check.hpp"
#include "trident/testing/http_server.hpp"
#include "trident/testing/temp_dir.hpp"

namespace fs = std::filesystem;

#ifdef TRIDENT_CLI_PATH

namespace {

using trident::testing::check_trace_file;
using trident::testing::temp_dir;

int run_cli(const std::string& args, const fs::path& output) {
  const std::string command = std::string("'") + TRIDENT_CLI_PATH + "' " + args + " > '" + output.string() + "' 2>&1";
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

// Bug 7 of issue #10: `trident fetch --trace` wrote its concurrent downloads as complete events
// overlapping on the loop thread's lane, and left most lanes unnamed.
TEST(cli_trace, regression_fetch_of_fifty_urls_twenty_at_once_gives_a_valid_trace) {
  trident::testing::http_server server;
  temp_dir dir{"trident-cli-trace"};
  const fs::path list = dir.path / "urls.txt";
  {
    std::ofstream out(list);
    for (int i = 0; i < 50; ++i) out << server.url("/bytes/" + std::to_string(20000 + i)) << "\tf" << i << "\n";
  }
  const fs::path trace = dir.path / "fetch.json";
  const int rc = run_cli("fetch -i '" + list.string() + "' -o '" + (dir.path / "out").string() + "' -j 20 --trace '" +
                             trace.string() + "'",
                         dir.path / "log");
  ASSERT_EQ(rc, 0);
  const auto check = check_trace_file(trace.string());
  EXPECT_EQ(check.exit_status, 0) << check.problems;
  std::size_t download_begins = 0;
  const auto doc = read_json(trace);
  for (const auto& e : doc.at("traceEvents")) {
    if (e.at("name") == "download") {
      EXPECT_NE(e.at("ph"), "X") << e;
      download_begins += e.at("ph") == "b";
    }
  }
  EXPECT_EQ(download_begins, 50u);
}

// Bug 7 of issue #10: a tour trace had no worker-process lanes and no coroutine spans.
TEST(cli_trace, regression_tour_trace_has_worker_process_lanes_and_coroutine_spans) {
  temp_dir dir{"trident-cli-trace"};
  const fs::path trace = dir.path / "tour.json";
  // 5: thread pool, 10: asyncio gather, 14: process pool map, 17: async fetches into workers.
  const int rc = run_cli("tour -q --trace '" + trace.string() + "' 5 10 14 17", dir.path / "log");
  ASSERT_EQ(rc, 0);
  const auto check = check_trace_file(trace.string());
  EXPECT_EQ(check.exit_status, 0) << check.problems;
  std::map<int, std::string> process_names;
  std::set<int> pids_with_tasks;
  std::size_t coroutine_begins = 0;
  const auto doc = read_json(trace);
  for (const auto& e : doc.at("traceEvents")) {
    if (e.at("ph") == "M" && e.at("name") == "process_name") {
      process_names[e.at("pid").get<int>()] = e.at("args").at("name").get<std::string>();
    }
    if (e.value("cat", "") == "process_pool") pids_with_tasks.insert(e.at("pid").get<int>());
    if (e.value("cat", "") == "coroutine" && e.at("ph") == "b") ++coroutine_begins;
  }
  EXPECT_GE(pids_with_tasks.size(), 1u);
  for (int pid : pids_with_tasks) EXPECT_EQ(process_names[pid].rfind("worker ", 0), 0u) << process_names[pid];
  EXPECT_GE(coroutine_begins, 1u);
}

}  // namespace

#else

TEST(cli_trace, needs_the_cli) { GTEST_SKIP() << "built without the trident command (TRIDENT_BUILD_CLI=OFF)"; }

#endif
