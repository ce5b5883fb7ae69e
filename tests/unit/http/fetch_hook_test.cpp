// http::fetch_all's per-item hook (fetch_options::on_item_done): each finished item once, on the
// caller's loop thread, with its final result; a waiting hook holding its place (back-pressure);
// a hook's exception and a cancellation while a hook waits; paths given by the caller; and
// 300 URLs under an open-file limit of 64.

#include <gtest/gtest.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "rerun_in_child.hpp"
#include "trident/aio/event.hpp"
#include "trident/aio/run.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/aio/spawn.hpp"
#include "trident/core/errors.hpp"
#include "trident/http/fetch.hpp"
#include "trident/testing/http_server.hpp"
#include "trident/testing/temp_dir.hpp"
#include "session_loops_env.hpp"

using namespace std::chrono_literals;
namespace aio = trident::aio;
namespace http = trident::http;
namespace fs = std::filesystem;

using trident::testing::temp_dir;

namespace {

std::string read_all(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), {}};
}

using trident::testing::rerun_current_test_in_child;

}  // namespace

TEST(http_fetch, hook_sees_every_finished_item_once_on_the_callers_loop_thread_with_its_final_result) {
  trident::testing::http_server server;
  temp_dir dir{"trident-fetch-hook"};
  std::ofstream(dir.path / "there.txt") << "old";
  const std::vector<http::fetch_item> items = {{server.url("/bytes/3000"), "a"},
                                               {server.url("/status/404"), "missing"},
                                               {server.url("/files/there.txt"), ""},
                                               {server.url("/bytes/10"), "b"}};
  struct seen {
    std::size_t index;
    http::fetch_result result;
    std::thread::id thread;
    std::size_t done;  // fetch_progress::done when the hook ran
  };
  std::vector<seen> calls;
  http::fetch_progress progress;
  std::thread::id loop_thread;
  http::fetch_options o;
  o.output_dir = dir.path;
  o.concurrency = 3;
  o.skip_existing = true;
  o.on_item_done = [&](std::size_t i, const http::fetch_result& r) -> aio::task<void> {
    calls.push_back({i, r, std::this_thread::get_id(), progress.done});
    co_return;
  };
  auto main = [&]() -> aio::task<std::vector<http::fetch_result>> {
    loop_thread = std::this_thread::get_id();
    http::session s(http::testing::with_test_loops());
    co_return co_await http::fetch_all(s, items, o, &progress);
  };
  const auto results = aio::run(main());
  ASSERT_EQ(results.size(), items.size());
  ASSERT_EQ(calls.size(), items.size());
  std::vector<int> times(items.size(), 0);
  for (const auto& c : calls) {
    ASSERT_LT(c.index, items.size());
    ++times[c.index];
    EXPECT_EQ(c.thread, loop_thread);
    EXPECT_GE(c.done, 1u);  // its own finish is counted before it is handed on
    // What the hook saw is what fetch_all returns: final, error fields included.
    const auto& r = results[c.index];
    EXPECT_EQ(c.result.outcome, r.outcome) << c.index;
    EXPECT_EQ(c.result.path, r.path);
    EXPECT_EQ(c.result.bytes, r.bytes);
    EXPECT_EQ(c.result.status, r.status);
    EXPECT_EQ(c.result.error, r.error);
    EXPECT_EQ(c.result.error_kind, r.error_kind);
  }
  EXPECT_EQ(times, std::vector<int>(items.size(), 1));
  EXPECT_EQ(results[0].outcome, http::fetch_outcome::ok);
  EXPECT_EQ(results[0].bytes, 3000u);
  EXPECT_EQ(results[1].outcome, http::fetch_outcome::failed);
  EXPECT_EQ(results[1].status, 404);
  EXPECT_EQ(results[2].outcome, http::fetch_outcome::skipped);
  EXPECT_EQ(results[3].outcome, http::fetch_outcome::ok);
  EXPECT_TRUE(results[0].error.empty() && results[0].error_kind.empty()) << results[0].error;
  EXPECT_TRUE(results[2].error.empty() && results[2].error_kind.empty()) << results[2].error;
  EXPECT_EQ(read_all(dir.path / "there.txt"), "old");
}

// A hook that waits keeps its item's place among the `concurrency` downloads: with two places
// and both hooks waiting, no third URL starts until one of them lets go.
TEST(http_fetch, hook_a_waiting_hook_holds_its_place_so_no_further_url_starts) {
  trident::testing::http_server server;
  temp_dir dir{"trident-fetch-hook"};
  std::vector<http::fetch_item> items;
  for (int i = 0; i < 6; ++i) items.push_back({server.url("/bytes/100"), "f" + std::to_string(i)});
  aio::event go;
  std::size_t waiting = 0;
  std::size_t handed = 0;
  http::fetch_options o;
  o.output_dir = dir.path;
  o.concurrency = 2;
  o.on_item_done = [&](std::size_t, const http::fetch_result&) -> aio::task<void> {
    ++waiting;
    co_await go.wait();
    --waiting;
    ++handed;
  };
  std::uint64_t requests_while_held = 0;
  std::size_t done_while_held = 0;
  auto main = [&]() -> aio::task<std::vector<http::fetch_result>> {
    http::session s(http::testing::with_test_loops());
    http::fetch_progress progress;
    auto h = aio::spawn(http::fetch_all(s, items, o, &progress));
    while (waiting < 2) co_await aio::sleep(1ms);
    co_await aio::sleep(50ms);  // time enough for a third request, were one allowed to start
    requests_while_held = server.requests();
    done_while_held = progress.done;
    go.set();
    co_return co_await h;
  };
  const auto results = aio::run(main());
  EXPECT_EQ(requests_while_held, 2u);
  EXPECT_EQ(done_while_held, 2u);
  EXPECT_EQ(handed, items.size());
  for (const auto& r : results) EXPECT_EQ(r.outcome, http::fetch_outcome::ok) << r.error;
  EXPECT_EQ(dir.names().size(), items.size());
}

// A hook's exception stops the run as a cancellation would — the transfer in flight is aborted
// and its file discarded, no further URL starts — and comes out of fetch_all.
TEST(http_fetch, hook_a_hook_that_throws_stops_the_run_and_its_exception_comes_out) {
  trident::testing::http_server server;
  temp_dir dir{"trident-fetch-hook"};
  const std::vector<http::fetch_item> items = {{server.url("/stall/50000"), "stalled"},
                                               {server.url("/bytes/100"), "first"},
                                               {server.url("/bytes/100"), "never1"},
                                               {server.url("/bytes/100"), "never2"}};
  http::fetch_progress progress;
  std::vector<std::size_t> calls;
  http::fetch_options o;
  o.output_dir = dir.path;
  o.concurrency = 2;
  o.on_item_done = [&](std::size_t i, const http::fetch_result&) -> aio::task<void> {
    calls.push_back(i);
    while (progress.bytes < 50'100) co_await aio::sleep(1ms);  // "stalled" is mid-body
    throw std::runtime_error("the consumer gave up");
  };
  std::string error;
  auto main = [&]() -> aio::task<void> {
    http::session s(http::testing::with_test_loops());
    try {
      (void)co_await http::fetch_all(s, items, o, &progress);
    } catch (const std::runtime_error& e) {
      error = e.what();
    }
  };
  aio::run(main());
  EXPECT_EQ(error, "the consumer gave up");
  EXPECT_EQ(calls, std::vector<std::size_t>{1});
  EXPECT_EQ(server.requests(), 2u);   // never1 and never2 never started
  EXPECT_EQ(progress.cancelled, 3u);  // the stalled one, cut short, and the two never started
  // "first" was complete before its hook ran; the stalled one left nothing, not even a temporary.
  EXPECT_EQ(dir.names(), std::vector<std::string>{"first"});
}

// Cancelling fetch_all while a hook waits cancels the hook's task; fetch_all returns every
// result: the item whose hook was interrupted stays ok (its file is complete), the others not
// started say cancelled.
TEST(http_fetch, hook_cancelling_while_a_hook_waits_ends_the_hook_and_returns_every_result) {
  trident::testing::http_server server;
  temp_dir dir{"trident-fetch-hook"};
  const std::vector<http::fetch_item> items = {{server.url("/bytes/100"), "a"}, {server.url("/bytes/100"), "b"}};
  aio::event never;
  bool entered = false;
  bool cancelled = false;
  http::fetch_options o;
  o.output_dir = dir.path;
  o.concurrency = 1;
  o.on_item_done = [&](std::size_t, const http::fetch_result&) -> aio::task<void> {
    entered = true;
    try {
      co_await never.wait();
    } catch (const trident::cancelled_error&) {
      cancelled = true;
      throw;
    }
  };
  auto main = [&]() -> aio::task<std::vector<http::fetch_result>> {
    http::session s(http::testing::with_test_loops());
    auto h = aio::spawn(http::fetch_all(s, items, o));
    while (!entered) co_await aio::sleep(1ms);
    h.cancel();
    co_return co_await h;
  };
  const auto results = aio::run(main());
  EXPECT_TRUE(cancelled);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].outcome, http::fetch_outcome::ok) << results[0].error;
  EXPECT_EQ(results[1].outcome, http::fetch_outcome::cancelled);
  EXPECT_EQ(server.requests(), 1u);
  EXPECT_EQ(dir.names(), std::vector<std::string>{"a"});
}

TEST(http_fetch, hook_paths_given_are_used_as_given_and_no_derived_name_takes_them) {
  const fs::path dir = "/tmp/d";
  const auto paths = http::plan_paths({{"http://h/x/a.txt", ""},
                                       {"http://h/y/b.txt", "", dir / "a.txt"},
                                       {"http://h/z/c.txt", "ignored", "/elsewhere/c-planned.txt"},
                                       {"http://h/w/a.txt", ""}},
                                      dir);
  EXPECT_EQ(paths[0], dir / "a-1.txt");
  EXPECT_EQ(paths[1], dir / "a.txt");
  EXPECT_EQ(paths[2], fs::path("/elsewhere/c-planned.txt"));
  EXPECT_EQ(paths[3], dir / "a-2.txt");
  // The same when the folder is written with a trailing separator.
  EXPECT_EQ(http::plan_paths({{"http://h/x/a.txt", ""}, {"http://h/y/b.txt", "", dir / "a.txt"}}, "/tmp/d/")[0],
            fs::path("/tmp/d/a-1.txt"));
}

/// With RLIMIT_NOFILE at 64 (soft and hard: nothing can raise it), 300 URLs all arrive and the
/// hook sees each index exactly once. The downloads run in a child process of this test binary,
/// so that the limit binds the client only: the loopback server, in this process, is not short
/// of descriptors (it would be a second client of the same table, not the case under test).
TEST(http_fetch, hook_with_64_open_files_300_urls_all_arrive_and_the_hook_sees_each_once) {
  constexpr std::size_t count = 300;
  if (const char* setup = std::getenv("TRIDENT_TEST_FETCH_HOOK_CHILD"); setup != nullptr) {
    // The child: "PORT DIR".
    const std::string text = setup;
    const auto space = text.find(' ');
    const std::string port = text.substr(0, space);
    const fs::path out = text.substr(space + 1);
    const rlimit limit{64, 64};
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &limit), 0);
    std::vector<http::fetch_item> items;
    for (std::size_t i = 0; i < count; ++i) {
      items.push_back({"http://127.0.0.1:" + port + "/bytes/2000", "f" + std::to_string(i)});
    }
    std::vector<int> seen(count, 0);
    std::size_t off_thread = 0;
    std::size_t failed_in_hook = 0;
    const auto loop_thread = std::this_thread::get_id();  // aio::run runs the loop here
    http::fetch_options o;
    o.output_dir = out;
    o.concurrency = 500;  // far more than 64 descriptors allow: the cap decides
    o.on_item_done = [&](std::size_t i, const http::fetch_result& r) -> aio::task<void> {
      ++seen.at(i);
      if (std::this_thread::get_id() != loop_thread) ++off_thread;
      if (!r.succeeded()) ++failed_in_hook;
      co_return;
    };
    auto main = [&]() -> aio::task<std::vector<http::fetch_result>> {
      http::session s(http::testing::with_test_loops());
      co_return co_await http::fetch_all(s, items, o);
    };
    const auto results = aio::run(main());
    ASSERT_EQ(results.size(), count);
    std::size_t ok = 0;
    for (const auto& r : results) {
      if (r.outcome == http::fetch_outcome::ok) {
        ++ok;
      } else {
        ADD_FAILURE() << r.url << " -> " << r.path << ": " << r.error;
      }
    }
    EXPECT_EQ(ok, count);
    EXPECT_EQ(seen, std::vector<int>(count, 1));
    EXPECT_EQ(off_thread, 0u);
    EXPECT_EQ(failed_in_hook, 0u);
    return;
  }
  trident::testing::http_server server;
  temp_dir dir{"trident-fetch-hook"};
  const fs::path out = dir.path / "out";
  fs::create_directory(out);
  const int status = rerun_current_test_in_child("TRIDENT_TEST_FETCH_HOOK_CHILD",
                                                 std::to_string(server.port()) + " " + out.string(), dir.path / "log");
  EXPECT_EQ(status, 0) << read_all(dir.path / "log");
  // What the child reported, seen from outside: every file, whole.
  const auto names = dir.names("out");
  EXPECT_EQ(names.size(), count);
  for (const auto& n : names) EXPECT_EQ(fs::file_size(out / n), 2000u) << n;
  EXPECT_GE(server.requests(), count);
}
