// The loopback internet and the web scenario ("200 URLs") on the small size: the server answers
// as its URLs say and copes with hundreds of connections at once; every model fetches the same
// pages, counts the failing URLs as failed, and leaves the server out of its measured tree.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "blocking_fetch.hpp"
#include "loopback_internet.hpp"
#include "process_probe.hpp"
#include "scenario_runner.hpp"
#include "scenario.hpp"
#include "trident/aio/gather.hpp"
#include "trident/aio/run.hpp"
#include "trident/http/session.hpp"
#include "web.hpp"

namespace trident::scenarios {
namespace {

using testing::gone_within;

TEST(LoopbackInternet, AnswersAsTheUrlSays) {
  loopback_internet server;
  blocking_fetcher client;

  const fetched page = client.get(server.url(page_path(7, 0, 12'345)));
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.body.size(), 12'345u);
  EXPECT_EQ(page.body, page_body(7, 12'345));
  EXPECT_EQ(page.body.rfind("<!doctype html>", 0), 0u);
  EXPECT_NE(page_body(8, 12'345), page.body) << "pages differ by id";

  EXPECT_EQ(client.get(server.url(status_path(503, 1, 0))).status, 503);
  EXPECT_EQ(client.get(server.url(status_path(404, 2, 0))).status, 404);

  const fetched data = client.get(server.url(dataset_path(3, 0, 100)));
  EXPECT_EQ(data.status, 200);
  EXPECT_EQ(data.body, dataset_body(3, 100));
  EXPECT_EQ(std::count(data.body.begin(), data.body.end(), '\n'), 101);

  EXPECT_EQ(client.get(server.url("/nowhere")).status, 404);
  EXPECT_EQ(client.get(server.url("/page/x/1/2")).status, 400);
  EXPECT_EQ(client.get(server.url("/page/1/999999/5")).status, 400) << "delays beyond a minute are refused";
  EXPECT_EQ(client.get(server.url(page_path(1, 0, max_page_bytes + 1))).status, 400);
}

TEST(LoopbackInternet, WaitsTheDelayInTheUrlBeforeAnswering) {
  loopback_internet server;
  blocking_fetcher client;
  const auto start = std::chrono::steady_clock::now();
  const fetched page = client.get(server.url(page_path(1, 200, 1000)));
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(page.status, 200);
  EXPECT_GE(waited, std::chrono::milliseconds(195));
}

aio::task<std::vector<int>> fetch_together(std::vector<std::string> urls) {
  http::session_options options;
  options.max_connections = static_cast<int>(urls.size());
  http::session session(options);
  std::vector<aio::task<int>> tasks;
  for (const std::string& url : urls) {
    tasks.push_back([](http::session& s, std::string u) -> aio::task<int> {
      const http::response r = co_await s.get(u);
      co_return r.body().size() == 2000 ? r.status() : -1;
    }(session, url));
  }
  co_return co_await aio::gather(std::move(tasks));
}

TEST(LoopbackInternet, Serves250ConnectionsAtOnce) {
  loopback_internet server;
  std::vector<std::string> urls;
  // Each waits 300 ms on the server, so the connections are open at the same time.
  for (int i = 0; i < 250; ++i) urls.push_back(server.url(page_path(static_cast<std::uint64_t>(i), 300, 2000)));
  const std::vector<int> statuses = aio::run(fetch_together(urls));
  ASSERT_EQ(statuses.size(), 250u);
  for (const int status : statuses) EXPECT_EQ(status, 200);
  // The server held them open together, on its one thread.
  blocking_fetcher client;
  const fetched stats = client.get(server.url("/stats"));
  EXPECT_EQ(stats.status, 200);
  const auto at = stats.body.find("most_open ");
  ASSERT_NE(at, std::string::npos) << stats.body;
  EXPECT_GE(std::stoi(stats.body.substr(at + 10)), 250) << stats.body;
}

TEST(LoopbackInternet, EndsWhenDestroyed) {
  int pid = 0;
  {
    loopback_internet server;
    pid = server.pid();
    ASSERT_GT(pid, 0);
    EXPECT_TRUE(testing::alive(pid));
  }
  EXPECT_TRUE(gone_within(pid, std::chrono::seconds(10)));
}

TEST(WebUrls, AreDrawnFromTheSeed) {
  const auto a = draw_web_urls(scale::small, 42);
  const auto b = draw_web_urls(scale::small, 42);
  const auto c = draw_web_urls(scale::small, 43);
  ASSERT_EQ(a.size(), 40u);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].path, b[i].path);
  EXPECT_NE(a.front().path + a.back().path, c.front().path + c.back().path);

  const auto full = draw_web_urls(scale::full, 42);
  ASSERT_EQ(full.size(), 200u);
  std::size_t failing = 0, slow = 0;
  std::set<std::string> paths;
  for (const web_url& u : full) {
    paths.insert(u.path);
    if (u.expected_status != 200) {
      ++failing;
      EXPECT_EQ(u.bytes, 0u);
    } else {
      EXPECT_GE(u.bytes, 20'000u);
      EXPECT_LT(u.bytes, 200'000u);
    }
    EXPECT_GE(u.delay_ms, 50u);
    EXPECT_LT(u.delay_ms, 2000u);
    if (u.delay_ms >= 1000) ++slow;
  }
  EXPECT_EQ(failing, 6u);
  EXPECT_GE(slow, 6u);
  EXPECT_EQ(paths.size(), full.size()) << "every URL is different";
}

TEST(WebScenario, EveryModelFetchesTheSamePages) {
  scenario_options options;
  options.size = scale::small;
  options.cores = 2;
  scenario s = make_web_scenario(options);
  EXPECT_EQ(s.name, "web");
  EXPECT_EQ(s.lesson_choice, "async");
  std::vector<std::string> names;
  for (const model& m : s.models) names.push_back(m.name);
  EXPECT_EQ(names, (std::vector<std::string>{"sequential", "threads_10", "threads_200", "processes_2", "async_50",
                                             "async_200"}));

  const int server_pid = std::static_pointer_cast<loopback_internet>(s.resources)->pid();
  const scenario_report report = run_scenario(s);
  ASSERT_EQ(report.runs.size(), s.models.size());
  std::size_t expected_failures = 0;
  for (const web_url& u : draw_web_urls(scale::small, options.seed)) expected_failures += u.expected_status != 200;
  for (const model_run& run : report.runs) {
    SCOPED_TRACE(run.model);
    ASSERT_TRUE(run.ok) << run.error;
    EXPECT_TRUE(run.same_results);
    EXPECT_EQ(run.result.items, 40u);
    EXPECT_EQ(run.result.failed, expected_failures);
    EXPECT_NE(run.result.digest, 0u);
    EXPECT_EQ(run.result.digest, report.runs.front().result.digest);
    // The server is not in the measured tree: the async and sequential models are one process.
    if (run.family == "async" || run.family == "sequential") {
      EXPECT_EQ(run.cost.peak_processes, 1);
    }
    if (run.family == "processes") {
      EXPECT_GT(run.cost.peak_processes, 1);
    }
  }
  EXPECT_TRUE(report.pick.has_value());
  print_report(stdout, report);

  EXPECT_TRUE(testing::alive(server_pid));
  s = scenario{};
  EXPECT_TRUE(gone_within(server_pid, std::chrono::seconds(10))) << "the server outlived its scenario";
}

TEST(WebScenario, ADifferentSeedFetchesDifferentPages) {
  scenario_options options;
  options.size = scale::small;
  options.seed = 7;
  scenario s = make_web_scenario(options);
  const model_result a = s.models.front().run();
  options.seed = 8;
  scenario t = make_web_scenario(options);
  const model_result b = t.models.front().run();
  EXPECT_NE(a.digest, b.digest);
}

/// The full size, for figures (about two minutes): run with --gtest_also_run_disabled_tests.
TEST(WebScenario, DISABLED_FullSizeReport) {
  scenario_options options;
  options.size = scale::full;
  scenario s = make_web_scenario(options);
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
