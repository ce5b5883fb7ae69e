#include "trident/aio/event_loop.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "trident/aio/gather.hpp"
#include "trident/aio/run.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/aio/spawn.hpp"
#include "trident/aio/tcp_server.hpp"
#include "trident/aio/tcp_stream.hpp"
#include "trident/aio/wrap_future.hpp"
#include "trident/exec/future.hpp"

namespace trident::aio {
namespace {

using namespace std::chrono_literals;

/// Sets TRIDENT_LOOP_BACKEND for one scope and restores what was there (ctest runs each case
/// in a process of its own, so no other thread reads the environment meanwhile).
class scoped_backend_env {
 public:
  explicit scoped_backend_env(const char* value) {
    if (const char* old = std::getenv("TRIDENT_LOOP_BACKEND")) old_ = old;
    if (value != nullptr) {
      ::setenv("TRIDENT_LOOP_BACKEND", value, 1);
    } else {
      ::unsetenv("TRIDENT_LOOP_BACKEND");
    }
  }
  scoped_backend_env(const scoped_backend_env&) = delete;
  scoped_backend_env& operator=(const scoped_backend_env&) = delete;
  ~scoped_backend_env() {
    if (old_) {
      ::setenv("TRIDENT_LOOP_BACKEND", old_->c_str(), 1);
    } else {
      ::unsetenv("TRIDENT_LOOP_BACKEND");
    }
  }

 private:
  std::optional<std::string> old_;
};

/// Whether this machine (kernel and build) runs the io_uring backend: asking for it either
/// gives it or says why not.
bool uring_available() {
  try {
    event_loop loop(loop_options{.backend = loop_backend::io_uring});
    EXPECT_EQ(loop.backend(), loop_backend::io_uring);
    return true;
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find("io_uring event loop backend is not available"), std::string::npos)
        << e.what();
    return false;
  }
}

TEST(loop_backend, an_explicit_epoll_option_gives_epoll_whatever_the_environment_says) {
  scoped_backend_env env("uring");
  event_loop loop(loop_options{.backend = loop_backend::epoll});
  EXPECT_EQ(loop.backend(), loop_backend::epoll);
}

TEST(loop_backend, the_environment_variable_picks_the_backend_of_a_default_loop) {
  {
    scoped_backend_env env("epoll");
    event_loop loop;
    EXPECT_EQ(loop.backend(), loop_backend::epoll);
  }
  const bool uring = uring_available();
  for (const char* name : {"uring", "io_uring"}) {
    scoped_backend_env env(name);
    if (uring) {
      event_loop loop;
      EXPECT_EQ(loop.backend(), loop_backend::io_uring) << name;
    } else {
      EXPECT_THROW(event_loop loop, std::system_error) << name;
    }
  }
}

TEST(loop_backend, without_the_variable_a_loop_takes_epoll_even_where_io_uring_runs) {
  scoped_backend_env env(nullptr);
  event_loop loop;
  EXPECT_EQ(loop.backend(), loop_backend::epoll);
  EXPECT_EQ(event_loop(loop_options{.backend = loop_backend::automatic}).backend(), loop_backend::epoll);
  scoped_backend_env automatic("auto");
  event_loop again;
  EXPECT_EQ(again.backend(), loop_backend::epoll);
}

TEST(loop_backend, an_unknown_value_is_a_clear_error) {
  scoped_backend_env env("kqueue");
  try {
    event_loop loop;
    FAIL() << "a loop was made with TRIDENT_LOOP_BACKEND=kqueue";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("TRIDENT_LOOP_BACKEND"), std::string::npos) << what;
    EXPECT_NE(what.find("'kqueue'"), std::string::npos) << what;
    EXPECT_NE(what.find("'epoll'"), std::string::npos) << what;
  }
}

TEST(loop_backend, loops_made_by_this_test_run_use_the_backend_it_was_registered_for) {
  // ctest runs this executable once per backend (names ending in ".uring" for io_uring).
  const char* env = std::getenv("TRIDENT_LOOP_BACKEND");
  const std::string wanted = env != nullptr ? env : "";
  const loop_backend got = run([]() -> task<loop_backend> { co_return event_loop::running().backend(); }());
  if (wanted == "epoll") {
    EXPECT_EQ(got, loop_backend::epoll);
  }
  if (wanted == "uring") {
    EXPECT_EQ(got, loop_backend::io_uring);
  }
  EXPECT_STREQ(to_string(loop_backend::io_uring), "io_uring");
  EXPECT_STREQ(to_string(loop_backend::epoll), "epoll");
}

// The same work on each backend named explicitly: sockets, timers and posts from a thread.
class on_each_backend : public ::testing::TestWithParam<loop_backend> {
 protected:
  void SetUp() override {
    if (GetParam() == loop_backend::io_uring && !uring_available()) GTEST_SKIP() << "io_uring is not available here";
  }
  loop_options options() const { return loop_options{.backend = GetParam()}; }
};

task<void> echo(tcp_stream s) {
  for (;;) {
    std::string chunk = co_await s.read();
    if (chunk.empty()) co_return;
    s.write(chunk);
    co_await s.drain();
  }
}

TEST_P(on_each_backend, echoes_a_megabyte_through_a_server_on_the_same_loop) {
  const std::string sent = [] {
    std::string s(1 << 20, '\0');
    for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char>('a' + i % 26);
    return s;
  }();
  event_loop loop(options());
  const std::string got = run_until_complete(loop, [](const std::string& data) -> task<std::string> {
    auto server = co_await start_server(echo, "127.0.0.1", 0);
    auto client = co_await open_connection("127.0.0.1", server.port());
    auto reader = spawn([](tcp_stream& c, std::size_t n) -> task<std::string> { co_return co_await c.read_exactly(n); }(
                                                             client, data.size()));
    client.write(data);
    co_await client.drain();
    co_return co_await reader;
  }(sent));
  EXPECT_EQ(loop.backend(), GetParam());
  EXPECT_TRUE(got == sent);
}

TEST_P(on_each_backend, a_closed_stream_ends_the_peer_at_once) {
  // The peer is a plain blocking socket on another thread: it must read the end of the stream
  // while the loop still runs, not when the loop is destroyed.
  event_loop loop(options());
  const std::string result = run_until_complete(loop, []() -> task<std::string> {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
      throw std::system_error(errno, std::generic_category(), "socketpair");
    tcp_stream ours(pair[0]);
    const int theirs = pair[1];
    trident::exec::promise<std::string> seen;
    auto outcome = seen.get_future();
    std::thread peer([theirs, &seen] {
      std::string got;
      char buf[64];
      for (;;) {
        const ssize_t n = ::read(theirs, buf, sizeof buf);
        if (n <= 0) break;
        got.append(buf, static_cast<std::size_t>(n));
      }
      ::close(theirs);
      seen.set_value(got + "|eof");
    });
    ours.write("bye");
    co_await ours.drain();
    co_await sleep(5ms);  // the loop waits at least once with the socket registered
    ours.close();
    std::string got = co_await wrap_future(std::move(outcome));
    peer.join();
    co_return got;
  }());
  EXPECT_EQ(result, "bye|eof");
}

TEST_P(on_each_backend, a_cancelled_read_leaves_the_stream_usable) {
  event_loop loop(options());
  const std::string got = run_until_complete(loop, []() -> task<std::string> {
    auto server = co_await start_server(echo, "127.0.0.1", 0);
    auto client = co_await open_connection("127.0.0.1", server.port());
    auto waiting = spawn([](tcp_stream& c) -> task<std::string> { co_return co_await c.read(); }(client));
    co_await sleep(2ms);
    waiting.cancel();
    try {
      co_await waiting;
    } catch (const cancelled_error&) {}
    client.write("again");
    co_await client.drain();
    co_return co_await client.read_exactly(5);
  }());
  EXPECT_EQ(got, "again");
}

TEST_P(on_each_backend, timers_and_posts_from_threads_wake_the_loop) {
  event_loop loop(options());
  const int sum = run_until_complete(loop, []() -> task<int> {
    const auto start = clock::now();
    co_await sleep(20ms);
    EXPECT_GE(clock::now() - start, 20ms);
    int total = 0;
    for (int i = 1; i <= 10; ++i) {
      trident::exec::promise<int> p;
      auto f = p.get_future();
      std::thread t([&p, i] {
        std::this_thread::sleep_for(1ms);
        p.set_value(i);
      });
      total += co_await wrap_future(std::move(f));
      t.join();
    }
    co_return total;
  }());
  EXPECT_EQ(sum, 55);
}

std::size_t open_descriptors() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

TEST_P(on_each_backend, a_server_accepts_every_connection_and_a_closed_one_refuses_at_once_leaking_nothing) {
  const std::size_t before = open_descriptors();
  {
    event_loop loop(options());
    const int answered = run_until_complete(loop, []() -> task<int> {
      auto server = co_await start_server(echo, "127.0.0.1", 0);
      const std::uint16_t port = server.port();
      auto client = [port](int id) -> task<int> {
        auto c = co_await open_connection("127.0.0.1", port);
        const std::string message = "hello " + std::to_string(id);
        c.write(message);
        co_await c.drain();
        co_return co_await c.read_exactly(message.size()) == message ? 1 : 0;
      };
      std::vector<task<int>> clients;
      for (int id = 0; id < 40; ++id) clients.push_back(client(id));
      const std::vector<int> results = co_await gather(std::move(clients));
      int good = 0;
      for (const int r : results) good += r;
      EXPECT_EQ(server.accepted(), 40u);
      // Connections that reach the backlog and are never taken must not leak either.
      auto unanswered = co_await open_connection("127.0.0.1", port);
      server.close();
      bool refused = false;
      try {
        auto late = co_await open_connection("127.0.0.1", port);
      } catch (const std::system_error&) {
        refused = true;
      }
      EXPECT_TRUE(refused) << "the closed listener still accepted a connection";
      co_return good;
    }());
    EXPECT_EQ(answered, 40);
  }
  EXPECT_EQ(open_descriptors(), before);
}

INSTANTIATE_TEST_SUITE_P(backends, on_each_backend, ::testing::Values(loop_backend::epoll, loop_backend::io_uring),
                         [](const auto& info) { return std::string(to_string(info.param)); });

}  // namespace
}  // namespace trident::aio
