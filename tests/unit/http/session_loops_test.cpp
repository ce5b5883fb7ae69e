// A session with several loops: requests spread over the session's threads, limits are shared,
// and errors, cancellation and save_to behave as on one loop.

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "trident/aio/gather.hpp"
#include "trident/aio/run.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/aio/spawn.hpp"
#include "trident/aio/timeout.hpp"
#include "trident/http/session.hpp"
#include "trident/testing/http_server.hpp"
#include "trident/testing/temp_dir.hpp"

using namespace std::chrono_literals;
namespace aio = trident::aio;
namespace http = trident::http;

namespace {

http::session_options loops(int n) {
  http::session_options o;
  o.loops = n;
  return o;
}

}  // namespace

TEST(http_session_loops, requests_run_on_every_loop_and_come_back_to_the_caller) {
  trident::testing::http_server server;
  std::mutex mutex;
  std::set<std::thread::id> transfer_threads;
  std::set<std::thread::id> caller_threads;
  auto main = [&]() -> aio::task<void> {
    http::session_options o = loops(3);
    o.defaults.on_body_start = [&](std::int64_t) {
      const std::lock_guard lock(mutex);
      transfer_threads.insert(std::this_thread::get_id());
    };
    http::session s(o);
    EXPECT_EQ(s.loops(), 3u);
    std::vector<aio::task<http::response>> tasks;
    for (int i = 0; i < 30; ++i) tasks.push_back(s.get(server.url("/delay/10/n" + std::to_string(i))));
    auto rs = co_await aio::gather(std::move(tasks));
    for (std::size_t i = 0; i < rs.size(); ++i) {
      EXPECT_EQ(rs[i].status(), 200);
      EXPECT_EQ(rs[i].url(), server.url("/delay/10/n" + std::to_string(i)));  // results in order
      caller_threads.insert(std::this_thread::get_id());
    }
    const http::session_statistics st = s.statistics();
    EXPECT_EQ(st.requests, 30u);
    EXPECT_EQ(st.active, 0u);
  };
  aio::run(main());
  EXPECT_EQ(transfer_threads.size(), 3u);  // the caller's loop and the session's two threads
  EXPECT_EQ(caller_threads.size(), 1u);
}

TEST(http_session_loops, requests_made_one_after_another_spread_too) {
  trident::testing::http_server server;
  std::mutex mutex;
  std::set<std::thread::id> transfer_threads;
  auto main = [&]() -> aio::task<void> {
    http::session_options o = loops(2);
    o.defaults.on_body_start = [&](std::int64_t) {
      const std::lock_guard lock(mutex);
      transfer_threads.insert(std::this_thread::get_id());
    };
    http::session s(o);
    for (int i = 0; i < 4; ++i) {
      http::response r = co_await s.get(server.url("/text/one"));
      EXPECT_EQ(r.status(), 200);
    }
  };
  aio::run(main());
  EXPECT_EQ(transfer_threads.size(), 2u);
}

TEST(http_session_loops, connection_limits_are_the_whole_sessions) {
  trident::testing::http_server server;
  auto main = [&]() -> aio::task<void> {
    http::session_options o = loops(4);
    o.max_connections = 50;
    o.max_connections_per_host = 3;
    http::session s(o);
    EXPECT_EQ(s.loops(), 3u);  // no more loops than the per-host limit has connections
    std::vector<aio::task<http::response>> tasks;
    for (int i = 0; i < 18; ++i) tasks.push_back(s.get(server.url("/delay/20/x" + std::to_string(i))));
    auto rs = co_await aio::gather(std::move(tasks));
    for (const auto& r : rs) EXPECT_EQ(r.status(), 200);
    EXPECT_LE(server.connections(), 3u);

    http::session_options one_connection = loops(8);
    one_connection.max_connections = 1;
    http::session narrow(one_connection);
    EXPECT_EQ(narrow.loops(), 1u);

    http::session every_core(loops(0));
    EXPECT_EQ(every_core.loops(), std::max(1u, std::thread::hardware_concurrency()));
  };
  aio::run(main());
}

TEST(http_session_loops, a_negative_loop_count_is_refused) {
  auto main = []() -> aio::task<void> {
    EXPECT_THROW(http::session s(loops(-1)), std::invalid_argument);
    co_return;
  };
  aio::run(main());
}

TEST(http_session_loops, errors_from_another_loop_reach_the_caller) {
  trident::testing::http_server server;
  const std::string refused = "http://127.0.0.1:" + std::to_string(trident::testing::closed_loopback_port()) + "/";
  auto main = [&]() -> aio::task<void> {
    http::session s(loops(2));
    for (int i = 0; i < 2; ++i) {  // once on each loop
      try {
        auto r = co_await s.get(refused);
        ADD_FAILURE() << "expected a connect error, got " << r.status();
      } catch (const http::transfer_error& e) {
        EXPECT_EQ(e.kind(), http::error_kind::connect);
      }
      http::response missing = co_await s.get(server.url("/status/404"));
      EXPECT_EQ(missing.status(), 404);
    }
  };
  aio::run(main());
}

TEST(http_session_loops, cancelling_waits_for_the_other_loop_to_drop_the_transfer_and_the_file) {
  trident::testing::http_server server;
  trident::testing::temp_dir dir{"trident-http-loops"};
  auto main = [&]() -> aio::task<void> {
    http::session s(loops(2));
    for (int i = 0; i < 2; ++i) {  // once on each loop
      http::request req;
      req.url = server.url("/stall/100000");
      auto h = aio::spawn(s.save_to(req, dir.path / "cancelled.bin"));
      while (s.statistics().body_bytes < 100'000) co_await aio::sleep(5ms);
      h.cancel();
      EXPECT_THROW(co_await h, trident::cancelled_error);
      // Awaited to its end: the transfer is gone and no file or temporary is left.
      EXPECT_EQ(s.statistics().active, 0u);
      EXPECT_TRUE(dir.names().empty());
    }
    // Timeouts cancel the same way, and the session goes on working.
    EXPECT_THROW(co_await aio::wait_for(s.get(server.url("/hang")), 50ms), trident::timeout_error);
    EXPECT_THROW(co_await aio::wait_for(s.get(server.url("/hang")), 50ms), trident::timeout_error);
    EXPECT_EQ(s.statistics().active, 0u);
    http::request req;
    req.url = server.url("/bytes/200000");
    http::response r = co_await s.save_to(req, dir.path / "whole.bin");
    EXPECT_EQ(r.status(), 200);
    EXPECT_EQ(std::filesystem::file_size(dir.path / "whole.bin"), 200'000u);
  };
  aio::run(main());
}

TEST(http_session_loops, a_task_cancelled_before_it_waits_starts_no_request) {
  trident::testing::http_server server;
  auto main = [&]() -> aio::task<void> {
    http::session s(loops(2));
    auto first = aio::spawn(s.get(server.url("/text/a")));
    first.cancel();  // before it ran: never sent
    EXPECT_THROW(co_await first, trident::cancelled_error);
    EXPECT_EQ(s.statistics().requests, 0u);
  };
  aio::run(main());
}
