#include "trident/aio/run.hpp"
#include "trident/http/fetch.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "trident/aio/event_loop.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/aio/spawn.hpp"
#include "trident/testing/http_server.hpp"
#include "trident/testing/temp_dir.hpp"
#include "session_loops_env.hpp"

using namespace std::chrono_literals;
namespace aio = trident::aio;
namespace http = trident::http;
namespace fs = std::filesystem;

using trident::testing::temp_dir;

namespace {

std::vector<http::fetch_result> run_fetch(std::vector<http::fetch_item> items, http::fetch_options o) {
  auto main = [&]() -> aio::task<std::vector<http::fetch_result>> {
    http::session s(http::testing::with_test_loops());
    co_return co_await http::fetch_all(s, std::move(items), o);
  };
  return aio::run(main());
}

}  // namespace

TEST(http_fetch, input_lines_with_and_without_names) {
  EXPECT_FALSE(http::parse_fetch_line("").has_value());
  EXPECT_FALSE(http::parse_fetch_line("   # comment").has_value());
  auto a = http::parse_fetch_line("  http://h/a.txt \r\n");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->url, "http://h/a.txt");
  EXPECT_EQ(a->name, "");
  auto b = http::parse_fetch_line("http://h/a.txt\tmy name.txt");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->url, "http://h/a.txt");
  EXPECT_EQ(b->name, "my name.txt");
}

TEST(http_fetch, plans_safe_distinct_paths) {
  const fs::path dir = "/tmp/d";
  auto paths =
      http::plan_paths({{"http://h/x/a.txt", ""}, {"http://h/y/a.txt", ""}, {"http://h/z", "../../etc/passwd"}}, dir);
  EXPECT_EQ(paths[0], dir / "a.txt");
  EXPECT_EQ(paths[1], dir / "a-1.txt");
  EXPECT_EQ(paths[2], dir / "___.._etc_passwd");
}

TEST(http_fetch, downloads_everything_and_reports_each_failure) {
  trident::testing::http_server server;
  temp_dir dir{"trident-fetch"};
  http::fetch_options o;
  o.output_dir = dir.path;
  o.concurrency = 4;
  o.retries = 1;
  o.retry.base_delay = 1ms;
  o.max_size = 50'000;
  o.timeout = 5s;
  std::vector<http::fetch_item> items = {
      {server.url("/files/a.txt"), ""},
      {server.url("/files/b.txt"), "renamed.txt"},
      {server.url("/bytes/40000"), ""},
      {"http://exa mple/bad", ""},                                              // malformed
      {"gopher://127.0.0.1/x", ""},                                             // unsupported scheme
      {"http://no-such-host.invalid/x", ""},                                    // DNS
      {"http://127.0.0.1:1/x", ""},                                             // refused
      {"https://127.0.0.1:" + std::to_string(server.port()) + "/files/t", ""},  // TLS
      {server.url("/status/404"), ""},
      {server.url("/status/500"), ""},
      {server.url("/bytes/60000"), "big"},   // over --max-size
      {server.url("/short/3000"), "short"},  // shorter than Content-Length
      {server.url("/reset/20000"), "reset"},
      {server.url("/flaky/1/503"), "flaky"},  // retried, then ok
  };
  auto results = run_fetch(items, o);
  ASSERT_EQ(results.size(), items.size());
  auto expect = [&](std::size_t i, bool ok, const std::string& kind) {
    EXPECT_EQ(results[i].succeeded(), ok) << i << " " << results[i].error;
    EXPECT_EQ(results[i].error_kind, kind) << i << " " << results[i].error;
  };
  expect(0, true, "");
  expect(1, true, "");
  expect(2, true, "");
  expect(3, false, "malformed_url");
  expect(4, false, "unsupported_scheme");
  expect(5, false, "dns");
  expect(6, false, "connect");
  expect(7, false, "tls");
  expect(8, false, "http_status");
  EXPECT_EQ(results[8].status, 404);
  expect(9, false, "http_status");
  EXPECT_EQ(results[9].attempts, 1);   // 500 is not retried
  EXPECT_EQ(results[11].attempts, 2);  // a short body is, once (--retries 1)
  expect(10, false, "body_too_large");
  expect(11, false, "short_body");
  EXPECT_TRUE(results[12].error_kind == "connection" || results[12].error_kind == "short_body") << results[12].error;
  expect(13, true, "");
  EXPECT_EQ(results[13].attempts, 2);
  // Only complete files, under their names; no temporaries.
  EXPECT_EQ(dir.names(), (std::vector<std::string>{"40000", "a.txt", "flaky", "renamed.txt"}));
  std::ifstream in(dir.path / "a.txt");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, "content of a.txt\n");
  // JSON lines parse and carry the fields.
  for (const auto& r : results) {
    auto j = nlohmann::json::parse(r.to_json());
    EXPECT_EQ(j["url"], r.url);
    EXPECT_TRUE(j.contains("status") && j.contains("bytes") && j.contains("path") && j.contains("attempts") &&
                j.contains("seconds") && j.contains("error"));
  }
}

// The server's faulty route (what `trident soak` fetches): each kind of fault is retried until
// the request of the cycle that succeeds, and the next cycle of the same path fails again first.
TEST(http_fetch, retries_through_each_fault_of_a_cycle) {
  trident::testing::http_server server;
  temp_dir dir{"trident-fetch"};
  http::fetch_options o;
  o.output_dir = dir.path;
  o.retries = 2;
  o.retry.base_delay = 1ms;
  o.timeout = 1s;  // what ends a stalled attempt
  for (int cycle = 0; cycle < 2; ++cycle) {
    const std::vector<http::fetch_item> items = {
        {server.url("/faulty/2/503/a"), "a-" + std::to_string(cycle)},
        {server.url("/faulty/1/reset/b"), "b-" + std::to_string(cycle)},
        {server.url("/faulty/1/stall/c"), "c-" + std::to_string(cycle)},
        {server.url("/faulty/0/503/d"), "d-" + std::to_string(cycle)},
    };
    auto results = run_fetch(items, o);
    ASSERT_EQ(results.size(), items.size());
    const int attempts[] = {3, 2, 2, 1};
    for (std::size_t i = 0; i < results.size(); ++i) {
      EXPECT_TRUE(results[i].succeeded()) << cycle << " " << i << " " << results[i].error;
      EXPECT_EQ(results[i].attempts, attempts[i]) << cycle << " " << i;
      EXPECT_EQ(results[i].bytes, 3u) << cycle << " " << i;  // "ok\n"
    }
  }
}

TEST(http_fetch, unwritable_output_directory_fails_each_url_cleanly) {
  trident::testing::http_server server;
  temp_dir dir{"trident-fetch"};
  const fs::path not_a_dir = dir.path / "file";
  std::ofstream(not_a_dir) << "x";
  http::fetch_options o;
  o.output_dir = not_a_dir;
  auto results = run_fetch({{server.url("/files/a"), ""}, {server.url("/files/b"), ""}}, o);
  for (const auto& r : results) {
    EXPECT_FALSE(r.succeeded());
    EXPECT_EQ(r.error_kind, "file") << r.error;
  }
  if (::geteuid() != 0) {  // root writes anywhere: the permission case only means something otherwise
    const fs::path ro = dir.path / "ro";
    fs::create_directory(ro);
    ::chmod(ro.c_str(), 0500);
    o.output_dir = ro;
    auto r2 = run_fetch({{server.url("/files/a"), ""}}, o);
    EXPECT_EQ(r2[0].error_kind, "file");
    ::chmod(ro.c_str(), 0700);
  }
}

TEST(http_fetch, skip_existing_leaves_files_alone) {
  trident::testing::http_server server;
  temp_dir dir{"trident-fetch"};
  std::ofstream(dir.path / "a.txt") << "old";
  http::fetch_options o;
  o.output_dir = dir.path;
  o.skip_existing = true;
  auto results = run_fetch({{server.url("/files/a.txt"), ""}}, o);
  EXPECT_EQ(results[0].outcome, http::fetch_outcome::skipped);
  EXPECT_EQ(server.requests(), 0u);
}

TEST(http_fetch, cancelling_stops_transfers_removes_temporaries_and_returns_results) {
  trident::testing::http_server server;
  temp_dir dir{"trident-fetch"};
  http::fetch_options o;
  o.output_dir = dir.path;
  o.concurrency = 2;
  std::vector<http::fetch_item> items = {{server.url("/files/quick"), ""},
                                         {server.url("/stall/50000"), "s1"},
                                         {server.url("/stall/50000"), "s2"},
                                         {server.url("/files/never"), ""}};
  auto main = [&]() -> aio::task<std::vector<http::fetch_result>> {
    http::session s(http::testing::with_test_loops());
    http::fetch_progress progress;
    auto h = aio::spawn(http::fetch_all(s, items, o, &progress));
    while (progress.bytes < 100'000) co_await aio::sleep(5ms);  // both stalls are mid-body
    h.cancel();
    co_return co_await h;
  };
  auto results = aio::run(main());
  EXPECT_EQ(results[0].outcome, http::fetch_outcome::ok);
  EXPECT_EQ(results[1].outcome, http::fetch_outcome::cancelled);
  EXPECT_EQ(results[2].outcome, http::fetch_outcome::cancelled);
  EXPECT_EQ(results[3].outcome, http::fetch_outcome::cancelled);
  EXPECT_EQ(dir.names(), (std::vector<std::string>{"quick"}));
}

/// The counters a progress display reads: bytes expected from Content-Length while bodies
/// arrive, and after a cancel the same counts as the results (regression, issue #10: the line
/// said "failed 2" where the summary said "2 cancelled", and URLs never started were not
/// counted at all).
TEST(http_fetch, progress_counts_bytes_expected_and_agrees_with_the_results_after_a_cancel) {
  trident::testing::http_server server;
  temp_dir dir{"trident-fetch"};
  http::fetch_options o;
  o.output_dir = dir.path;
  o.concurrency = 2;
  std::vector<http::fetch_item> items = {{server.url("/bytes/1000"), "quick"},
                                         {server.url("/stall/50000"), "s1"},
                                         {server.url("/stall/50000"), "s2"},
                                         {server.url("/bytes/10"), "never"}};
  http::fetch_progress mid;
  http::fetch_progress end;
  auto main = [&]() -> aio::task<std::vector<http::fetch_result>> {
    http::session s(http::testing::with_test_loops());
    http::fetch_progress progress;
    auto h = aio::spawn(http::fetch_all(s, items, o, &progress));
    while (progress.bytes < 101'000) co_await aio::sleep(5ms);  // quick done, both stalls mid-body
    mid = progress;
    h.cancel();
    auto results = co_await h;
    end = progress;
    co_return results;
  };
  auto results = aio::run(main());
  EXPECT_EQ(mid.total, 4u);
  EXPECT_EQ(mid.done, 1u);
  EXPECT_EQ(mid.bytes_expected, 1000u + 2 * 100'000u);  // the stalls announce 2 x 50,000
  EXPECT_EQ(mid.bytes_done, 1000u + 2 * 50'000u);
  EXPECT_EQ(mid.unsized, 1u);  // "never" has not started
  EXPECT_EQ(end.done, 4u);
  EXPECT_EQ(end.cancelled, 3u);
  EXPECT_EQ(end.failed, 0u);
  EXPECT_EQ(end.unsized, 0u);
  EXPECT_EQ(end.bytes_expected, 1000u);  // what will ever be done: the finished file
  EXPECT_EQ(end.bytes_done, 1000u);
  std::size_t cancelled = 0;
  for (const auto& r : results) cancelled += r.outcome == http::fetch_outcome::cancelled ? 1 : 0;
  EXPECT_EQ(cancelled, end.cancelled);
  EXPECT_EQ(results[1].attempts, 1);  // cut short in its first attempt
}

TEST(http_fetch, two_loops_by_default_where_there_are_two_cores) {
  EXPECT_EQ(http::default_fetch_loops(), std::thread::hardware_concurrency() >= 2 ? 2 : 1);
}

TEST(http_fetch, small_and_large_files_arrive_byte_exact_through_the_default_loops) {
  trident::testing::http_server server;
  temp_dir dir{"trident-fetch-sizes"};
  http::fetch_options o;
  o.output_dir = dir.path;
  o.concurrency = 16;
  const std::vector<std::size_t> sizes = {1, 1000, 16'384, 16'385, 75'000, 200'000, 3'000'000};
  std::vector<http::fetch_item> items;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    items.push_back({server.url("/bytes/" + std::to_string(sizes[i])), "f" + std::to_string(i)});
  }
  auto main = [&]() -> aio::task<std::vector<http::fetch_result>> {
    http::session_options so;
    so.loops = http::default_fetch_loops();
    http::session s(so);
    EXPECT_EQ(s.loops(), static_cast<std::size_t>(http::default_fetch_loops()));
    co_return co_await http::fetch_all(s, items, o);
  };
  const auto results = aio::run(main());
  ASSERT_EQ(results.size(), sizes.size());
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    EXPECT_EQ(results[i].outcome, http::fetch_outcome::ok) << results[i].error;
    EXPECT_EQ(results[i].bytes, sizes[i]);
    std::ifstream in(dir.path / ("f" + std::to_string(i)), std::ios::binary);
    const std::string body{std::istreambuf_iterator<char>(in), {}};
    ASSERT_EQ(body.size(), sizes[i]);
    bool exact = true;
    for (std::size_t k = 0; k < body.size(); ++k) exact = exact && body[k] == static_cast<char>('a' + k % 26);
    EXPECT_TRUE(exact) << "f" << i;
  }
}
