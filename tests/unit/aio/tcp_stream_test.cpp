#include "trident/aio/run.hpp"
#include "trident/aio/tcp_stream.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <chrono>
#include <string>
#include <system_error>
#include <vector>

#include "trident/aio/gather.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/aio/tcp_server.hpp"

namespace trident::aio {
namespace {

using namespace std::chrono_literals;

task<void> echo_lines(tcp_stream s) {
  for (;;) {
    std::string line;
    try {
      line = co_await s.read_until("\n");
    } catch (const incomplete_read_error&) {
      co_return;  // client closed
    }
    s.write(line);
    co_await s.drain();
  }
}

TEST(tcp_stream, echo_over_ipv4_with_read_until_and_read_exactly) {
  auto result = run([]() -> task<std::string> {
    auto server = co_await start_server(echo_lines, "127.0.0.1", 0);
    auto client = co_await open_connection("127.0.0.1", server.port());
    client.write("hello\nworld\n");
    co_await client.drain();
    std::string a = co_await client.read_until("\n");
    std::string b = co_await client.read_exactly(6);
    co_return a + b;
  }());
  EXPECT_EQ(result, "hello\nworld\n");
}

TEST(tcp_stream, echo_over_ipv6_loopback) {
  std::string got;
  try {
    got = run([]() -> task<std::string> {
      auto server = co_await start_server(echo_lines, "::1", 0);
      auto client = co_await open_connection("::1", server.port());
      EXPECT_EQ(client.peer_address().rfind("[::1]:", 0), 0u);
      client.write("six\n");
      co_await client.drain();
      co_return co_await client.read_until("\n");
    }());
  } catch (const std::system_error& e) {
    GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
  }
  EXPECT_EQ(got, "six\n");
}

TEST(tcp_stream, many_concurrent_clients_each_get_their_own_answers) {
  auto ok = run([]() -> task<int> {
    auto server = co_await start_server(echo_lines, "127.0.0.1", 0);
    auto client = [port = server.port()](int id) -> task<int> {
      auto c = co_await open_connection("127.0.0.1", port);
      int good = 0;
      for (int i = 0; i < 20; ++i) {
        const std::string msg = std::to_string(id) + ":" + std::to_string(i) + "\n";
        c.write(msg);
        co_await c.drain();
        if (co_await c.read_until("\n") == msg) ++good;
      }
      co_return good;
    };
    std::vector<task<int>> clients;
    for (int id = 0; id < 50; ++id) clients.push_back(client(id));
    int total = 0;
    for (int v : co_await gather(std::move(clients))) total += v;
    EXPECT_EQ(server.accepted(), 50u);
    co_return total;
  }());
  EXPECT_EQ(ok, 50 * 20);
}

TEST(tcp_stream, connecting_to_a_closed_port_is_a_clear_error) {
  // Bind a port, then close it, so that nothing listens there.
  std::uint16_t port = run([]() -> task<std::uint16_t> {
    auto server = co_await start_server(echo_lines, "127.0.0.1", 0);
    co_return server.port();
  }());
  try {
    run(open_connection("127.0.0.1", port));
    FAIL() << "connected to a closed port";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::connection_refused) << e.what();
    EXPECT_NE(std::string(e.what()).find("127.0.0.1"), std::string::npos) << e.what();
  }
}

TEST(tcp_stream, reading_past_the_end_reports_an_incomplete_read) {
  auto closer = [](tcp_stream s) -> task<void> {
    s.write("abc");
    co_await s.drain();
    s.close();
  };
  auto partial = run([&]() -> task<std::string> {
    auto server = co_await start_server(closer, "127.0.0.1", 0);
    auto c = co_await open_connection("127.0.0.1", server.port());
    try {
      co_await c.read_exactly(10);
    } catch (const incomplete_read_error& e) {
      EXPECT_EQ(e.expected(), 10u);
      co_return e.partial();
    }
    co_return "no error";
  }());
  EXPECT_EQ(partial, "abc");
}

TEST(tcp_stream, peer_reset_is_a_system_error_on_the_next_read) {
  auto resetter = [](tcp_stream s) -> task<void> {
    (void)co_await s.read(1);
    s.close();  // unread data pending makes close() send a reset
  };
  EXPECT_THROW(run([&]() -> task<void> {
                 auto server = co_await start_server(resetter, "127.0.0.1", 0);
                 auto c = co_await open_connection("127.0.0.1", server.port());
                 c.write("xy-more-than-one-byte");
                 co_await c.drain();
                 co_await sleep(20ms);
                 for (int i = 0; i < 3; ++i) {
                   c.write("again");
                   co_await c.drain();
                   co_await sleep(5ms);
                 }
                 (void)co_await c.read();
               }()),
               std::system_error);
}

TEST(tcp_stream, cancelling_a_blocked_read_loses_no_buffered_data) {
  bool go = false;  // the server writes only after the client's read was cancelled
  auto silent = [&go](tcp_stream s) -> task<void> {
    while (!go) co_await sleep(1ms);
    s.write("late\n");
    co_await s.drain();
    (void)co_await s.read();  // until the client closes
  };
  auto got = run([&]() -> task<std::string> {
    auto server = co_await start_server(silent, "127.0.0.1", 0);
    auto c = co_await open_connection("127.0.0.1", server.port());
    auto reader = [&c]() -> task<std::string> { co_return co_await c.read_until("\n"); };
    auto h = spawn(reader());
    co_await sleep(0ms);  // the reader is now suspended waiting for data
    h.cancel();
    EXPECT_THROW(co_await h, cancelled_error);
    go = true;
    co_return co_await c.read_until("\n");  // the stream still works after the cancelled read
  }());
  EXPECT_EQ(got, "late\n");
}

}  // namespace
}  // namespace trident::aio
