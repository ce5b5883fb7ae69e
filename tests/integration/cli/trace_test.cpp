// `--trace FILE` on the trident command: the traces a user gets from a concurrent fetch and
// from the tour keep the Chrome trace format (tools/check_trace.py) and show what ran where.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "child_process.hpp"
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

// A cell run by another executable (the media cell, in trident-transcribe) records its own
// timeline beside the tour's, named after the cell, with the pipeline's spans in it; the tour's
// own has the cell's span.
TEST(cli_trace, a_heavy_cell_records_its_timeline_beside_the_tours) {
  if (!fs::exists(fs::path(TRIDENT_CLI_PATH).parent_path() / "trident-transcribe")) {
    GTEST_SKIP() << "built without the media layer (no trident-transcribe)";
  }
  temp_dir dir{"trident-cli-trace-cell"};
  const fs::path trace = dir.path / "tour.json";
  const int rc = run_cli("tour -q --trace '" + trace.string() + "' transcribe", dir.path / "log");
  ASSERT_EQ(rc, 0) << trident::testing::read_text(dir.path / "log");
  const fs::path cell_trace = dir.path / "tour.transcribe.json";
  ASSERT_TRUE(fs::exists(cell_trace)) << trident::testing::read_text(dir.path / "log");
  for (const fs::path& p : {trace, cell_trace}) {
    const auto check = check_trace_file(p.string());
    EXPECT_EQ(check.exit_status, 0) << p << ": " << check.problems;
  }
  std::set<std::string> tour_categories, cell_categories;
  const auto tour_doc = read_json(trace);
  const auto cell_doc = read_json(cell_trace);
  for (const auto& e : tour_doc.at("traceEvents")) tour_categories.insert(e.value("cat", ""));
  for (const auto& e : cell_doc.at("traceEvents")) cell_categories.insert(e.value("cat", ""));
  EXPECT_TRUE(tour_categories.count("lesson")) << "the tour's timeline has no span of the cell";
  EXPECT_TRUE(cell_categories.count("media") || cell_categories.count("http"))
      << "the cell's timeline has none of the pipeline's spans";
  EXPECT_NE(trident::testing::read_text(dir.path / "log").find(cell_trace.string()), std::string::npos)
      << "the cell's timeline is not named";
}

// `--trace FILE.html` writes the timeline page instead of the JSON, with the same spans: one per
// lesson cell, and the worker processes' own.
TEST(cli_trace, a_trace_path_ending_in_html_gets_the_timeline_page) {
  temp_dir dir{"trident-cli-trace"};
  const fs::path page = dir.path / "tour.html";
  const int rc = run_cli("tour -q --trace '" + page.string() + "' 5 14", dir.path / "log");
  ASSERT_EQ(rc, 0);
  std::ifstream in(page);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.rfind("<!DOCTYPE html>", 0), 0u);
  const std::string open = R"(<script type="application/json" id="trace-data">)";
  const auto begin = text.find(open);
  ASSERT_NE(begin, std::string::npos);
  const auto end = text.find("</script>", begin);
  const auto data = nlohmann::json::parse(text.substr(begin + open.size(), end - begin - open.size()));
  EXPECT_EQ(data.at("spans").size() % 7, 0u);
  std::set<std::string> process_names;
  for (const auto& p : data.at("processes")) process_names.insert(p.at("name").get<std::string>());
  EXPECT_TRUE(std::any_of(process_names.begin(), process_names.end(), [](const std::string& name) {
    return name.rfind("worker ", 0) == 0;
  })) << "the process pool's workers have lanes of their own";
  std::size_t lesson_spans = 0;
  const auto& strings = data.at("strings");
  for (std::size_t i = 0; i + 7 <= data.at("spans").size(); i += 7) {
    lesson_spans +=
        strings.at(data.at("spans")[i + 4].get<std::size_t>()) == "lesson" &&
        strings.at(data.at("spans")[i + 3].get<std::size_t>()).get<std::string>().rfind("thread_pool", 0) == 0;
  }
  EXPECT_GE(lesson_spans, 1u) << "cell 5's span";
  std::ifstream log(dir.path / "log");
  const std::string said((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(said.find("timeline written to"), std::string::npos) << said;
}

}  // namespace

#else

TEST(cli_trace, needs_the_cli) { GTEST_SKIP() << "built without the trident command (TRIDENT_BUILD_CLI=OFF)"; }

#endif
