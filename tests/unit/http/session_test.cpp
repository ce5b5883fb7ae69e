#include "trident/aio/run.hpp"
#include "trident/http/session.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "trident/aio/event_loop.hpp"
#include "trident/aio/gather.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/aio/spawn.hpp"
#include "trident/aio/timeout.hpp"
#include "trident/testing/http_server.hpp"
#include "trident/testing/temp_dir.hpp"
#include "session_loops_env.hpp"

using namespace std::chrono_literals;
namespace aio = trident::aio;
namespace http = trident::http;

using trident::testing::temp_dir;

namespace {

/// Runs `body(session, server)` on a fresh loop with a fresh test server.
template <class Body>
void with_session(Body body, http::session_options options = {}) {
  trident::testing::http_server server;
  auto main = [&]() -> aio::task<void> {
    http::session s(http::testing::with_test_loops(options));
    co_await body(s, server);
  };
  aio::run(main());
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

http::request get(std::string url) {
  http::request r;
  r.url = std::move(url);
  return r;
}

/// Awaits `t` and returns the kind of transfer_error it throws (fails the test otherwise).
aio::task<http::error_kind> failure_kind(aio::task<http::response> t) {
  try {
    auto r = co_await std::move(t);
    ADD_FAILURE() << "expected a transfer_error, got status " << r.status();
  } catch (const http::transfer_error& e) {
    co_return e.kind();
  }
  co_return http::error_kind::other;
}

/// The body `/bytes/N` of the test server: `abc…z` repeated.
bool is_alphabet_body(const std::string& body) {
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] != static_cast<char>('a' + i % 26)) return false;
  }
  return true;
}

/// A GET of `url` with `buffer` as its receive buffer (unset: the session's) that records the
/// largest chunk libcurl handed to the body callback: libcurl never hands over more than its
/// receive buffer holds, so this bounds the buffer the transfer ran with.
struct chunk_probe {
  std::shared_ptr<std::atomic<std::size_t>> largest = std::make_shared<std::atomic<std::size_t>>(0);

  [[nodiscard]] http::request request(std::string url, std::optional<std::size_t> buffer) const {
    http::request r = get(std::move(url));
    r.options.receive_buffer_bytes = buffer;
    r.options.on_body_bytes = [largest = largest](std::size_t n) {  // on the transfer's loop thread
      std::size_t seen = largest->load();
      while (n > seen && !largest->compare_exchange_weak(seen, n)) {}
    };
    return r;
  }
};

}  // namespace

TEST(http_session, get_returns_status_headers_and_body) {
  with_session([](http::session& s, trident::testing::http_server& server) -> aio::task<void> {
    http::response r = co_await s.get(server.url("/text/one"));
    EXPECT_EQ(r.status(), 200);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.text(), "hello from /text/one");
    EXPECT_EQ(r.header("content-type").value_or(""), "text/plain");
    EXPECT_EQ(r.http_version(), "1.1");
    EXPECT_NO_THROW(r.raise_for_status());
  });
}

TEST(http_session, many_concurrent_requests_share_pooled_connections) {
  http::session_options o;
  o.max_connections = 4;
  trident::testing::http_server* srv = nullptr;
  with_session(
      [&srv](http::session& s, trident::testing::http_server& server) -> aio::task<void> {
        srv = &server;
        std::vector<aio::task<http::response>> tasks;
        for (int i = 0; i < 40; ++i) tasks.push_back(s.get(server.url("/bytes/" + std::to_string(1000 + i))));
        auto rs = co_await aio::gather(std::move(tasks));
        for (int i = 0; i < 40; ++i)
          EXPECT_EQ(rs[static_cast<std::size_t>(i)].body().size(), 1000u + static_cast<unsigned>(i));
        EXPECT_LE(server.connections(), 4u);
        EXPECT_EQ(s.statistics().active, 0u);
      },
      o);
}

TEST(http_session, head_post_headers_and_query_parameters) {
  with_session([](http::session& s, trident::testing::http_server& server) -> aio::task<void> {
    http::response h = co_await s.head(server.url("/bytes/5000"));
    EXPECT_EQ(h.status(), 200);
    EXPECT_TRUE(h.body().empty());
    EXPECT_EQ(h.header("Content-Length").value_or(""), "5000");

    http::response p = co_await s.post(server.url("/echo"), "a=1", "application/x-www-form-urlencoded");
    EXPECT_NE(p.text().find("method=POST"), std::string::npos);
    EXPECT_NE(p.text().find("content-type=application/x-www-form-urlencoded"), std::string::npos);
    EXPECT_NE(p.text().find("body=a=1"), std::string::npos);

    http::request r = get(server.url("/echo"));
    r.headers.emplace_back("X-Test", "yes");
    r.params = {{"q", "two words"}, {"n", "1&2"}};
    http::response e = co_await s.send(r);
    EXPECT_NE(e.text().find("x-test=yes"), std::string::npos);
    EXPECT_NE(e.text().find("query=q=two+words&n=1%262"), std::string::npos) << e.text();
  });
}

TEST(http_session, raise_for_status_carries_status_and_url) {
  with_session([](http::session& s, trident::testing::http_server& server) -> aio::task<void> {
    http::response r = co_await s.get(server.url("/status/404"));
    EXPECT_EQ(r.status(), 404);
    try {
      r.raise_for_status();
      ADD_FAILURE() << "no throw";
    } catch (const http::http_status_error& e) {
      EXPECT_EQ(e.status(), 404);
      EXPECT_EQ(e.url(), server.url("/status/404"));
      EXPECT_NE(std::string(e.what()).find("404"), std::string::npos);
    }
    http::response r5 = co_await s.get(server.url("/status/500"));
    EXPECT_THROW(r5.raise_for_status(), http::http_status_error);
  });
}

TEST(http_session, malformed_url_and_unsupported_scheme_fail_before_sending) {
  with_session([](http::session& s, trident::testing::http_server& server) -> aio::task<void> {
    EXPECT_EQ(co_await failure_kind(s.get("http://exa mple.com/")), http::error_kind::malformed_url);
    EXPECT_EQ(co_await failure_kind(s.get("")), http::error_kind::malformed_url);
    EXPECT_EQ(co_await failure_kind(s.get("not a url at all")), http::error_kind::malformed_url);
    EXPECT_EQ(co_await failure_kind(s.get("ftp://127.0.0.1/file")), http::error_kind::unsupported_scheme);
    EXPECT_EQ(co_await failure_kind(s.get("file:///etc/passwd")), http::error_kind::unsupported_scheme);
    EXPECT_EQ(server.requests(), 0u);
  });
}

TEST(http_session, connection_refused_is_a_connect_error) {
  const int port = trident::testing::closed_loopback_port();
  with_session([port](http::session& s, trident::testing::http_server&) -> aio::task<void> {
    EXPECT_EQ(co_await failure_kind(s.get("http://127.0.0.1:" + std::to_string(port) + "/")),
              http::error_kind::connect);
  });
}

TEST(http_session, dns_failure_is_a_dns_error) {
  with_session([](http::session& s, trident::testing::http_server&) -> aio::task<void> {
    // RFC 6761: ".invalid" never resolves.
    EXPECT_EQ(co_await failure_kind(s.get("http://no-such-host.invalid/")), http::error_kind::dns);
  });
}

TEST(http_session, tls_failure_is_a_tls_error) {
  with_session([](http::session& s, trident::testing::http_server& server) -> aio::task<void> {
    // The test server speaks plain HTTP, so a TLS handshake with it fails.
    const std::string url = "https://127.0.0.1:" + std::to_string(server.port()) + "/text/x";
    EXPECT_EQ(co_await failure_kind(s.get(url)), http::error_kind::tls);
  });
}

TEST(http_session, short_body_reset_and_empty_reply_are_reported) {
  with_session([](http::session& s, trident::testing::http_server& server) -> aio::task<void> {
    EXPECT_EQ(co_await failure_kind(s.get(server.url("/short/1000"))), http::error_kind::short_body);
    const auto reset = co_await failure_kind(s.get(server.url("/reset/100000")));
    EXPECT_TRUE(reset == http::error_kind::connection || reset == http::error_kind::short_body) << to_string(reset);
    EXPECT_EQ(co_await failure_kind(s.get(server.url("/close"))), http::error_kind::connection);
  });
}

TEST(http_session, body_over_the_maximum_is_a_clear_error) {
  http::session_options o;
  o.defaults.max_body_bytes = 10'000;
  with_session(
      [](http::session& s, trident::testing::http_server& server) -> aio::task<void> {
        EXPECT_EQ((co_await s.get(server.url("/bytes/10000"))).body().size(), 10'000u);
        // Known from Content-Length.
        EXPECT_EQ(co_await failure_kind(s.get(server.url("/bytes/10001"))), http::error_kind::body_too_large);
        // Counted as it arrives (a body without Content-Length is not available here; a short
        // declared length with more data is not HTTP, so check the streaming count instead).
        http::request r = get(server.url("/drip/20/1"));
        r.options.max_body_bytes = 10;
        EXPECT_EQ(co_await failure_kind(s.send(r)), http::error_kind::body_too_large);
      },
      o);
}

TEST(http_session, redirects_are_followed_up_to_the_limit) {
  with_session([](http::session& s, trident::testing::http_server& server) -> aio::task<void> {
    http::response r = co_await s.get(server.url("/redirect/3"));
    EXPECT_EQ(r.status(), 200);
    EXPECT_EQ(r.text(), "arrived\n");
    EXPECT_EQ(r.url(), server.url("/redirect/0"));
    EXPECT_EQ(co_await failure_kind(s.get(server.url("/loop"))), http::error_kind::too_many_redirects);
    http::request none = get(server.url("/redirect/1"));
    none.options.max_redirects = 0;
    EXPECT_EQ((co_await s.send(none)).status(), 302);
  });
}

// Regression: a request's options used to replace the session's as a whole, so a request that
// set only a header or one option silently ran with the built-in timeouts, redirect limit, body
// limit and TLS setting (a fresh request_options{}) instead of the session's.
TEST(http_session, a_request_that_sets_one_option_keeps_the_sessions_other_options) {
  http::session_options o;
  o.defaults.total_timeout = 200ms;
  o.defaults.max_redirects = 0;
  o.defaults.max_body_bytes = 100;
  o.defaults.verify_tls = false;
  std::size_t counted = 0;
  o.defaults.on_body_bytes = [&counted](std::size_t n) { counted += n; };
  with_session(
      [&counted](http::session& s, trident::testing::http_server& server) -> aio::task<void> {
        // Only a header, then a header and another option: the session's short total timeout
        // still fires against a server that never answers.
        http::request slow = get(server.url("/hang"));
        slow.headers.emplace_back("X-Test", "only a header");
        EXPECT_EQ(co_await failure_kind(s.send(slow)), http::error_kind::timeout);
        slow.options.stall_timeout = 60s;
        const auto start = std::chrono::steady_clock::now();
        EXPECT_EQ(co_await failure_kind(s.send(slow)), http::error_kind::timeout);
        EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
        // One other option set: the session's redirect limit (none) and body limit still hold,
        // and its progress callback still counts.
        http::request moved = get(server.url("/redirect/1"));
        moved.options.connect_timeout = 5s;
        EXPECT_EQ((co_await s.send(moved)).status(), 302);
        http::request big = get(server.url("/bytes/1000"));
        big.options.connect_timeout = 5s;
        EXPECT_EQ(co_await failure_kind(s.send(big)), http::error_kind::body_too_large);
        counted = 0;
        http::request small = get(server.url("/bytes/50"));
        small.options.connect_timeout = 5s;
        EXPECT_EQ((co_await s.send(small)).body().size(), 50u);
        EXPECT_EQ(counted, 50u);
        // What the request sets wins over the session.
        http::request unlimited = get(server.url("/bytes/1000"));
        unlimited.options.max_body_bytes = 0;
        EXPECT_EQ((co_await s.send(unlimited)).body().size(), 1000u);
        // The session reports its defaults completed, TLS setting kept (observed over TLS in
        // tests/integration/http/tls_http2_test.cpp).
        EXPECT_EQ(s.options().defaults.verify_tls, false);
        EXPECT_EQ(s.options().defaults.connect_timeout, 10'000ms);
      },
      o);
}

TEST(http_session, total_and_stall_timeouts) {
  with_session([](http::session& s, trident::testing::http_server& server) -> aio::task<void> {
    http::request r = get(server.url("/hang"));
    r.options.total_timeout = 200ms;
    EXPECT_EQ(co_await failure_kind(s.send(r)), http::error_kind::timeout);
    http::request st = get(server.url("/stall/1000"));
    st.options.stall_timeout = 1s;
    st.options.stall_min_bytes_per_s = 1;
    EXPECT_EQ(co_await failure_kind(s.send(st)), http::error_kind::timeout);
  });
}

TEST(http_session, cancelling_the_task_aborts_the_transfer) {
  with_session([](http::session& s, trident::testing::http_server& server) -> aio::task<void> {
    auto h = aio::spawn(s.get(server.url("/hang")));
    co_await aio::sleep(50ms);
    EXPECT_EQ(s.statistics().active, 1u);
    h.cancel();
    EXPECT_THROW(co_await h, trident::cancelled_error);
    EXPECT_EQ(s.statistics().active, 0u);
    // The session still works afterwards.
    EXPECT_EQ((co_await s.get(server.url("/text/after"))).status(), 200);
    // wait_for cancels through the same path.
    EXPECT_THROW(co_await aio::wait_for(s.get(server.url("/hang")), 50ms), trident::timeout_error);
    EXPECT_EQ(s.statistics().active, 0u);
  });
}

TEST(http_session, retries_503_and_429_with_retry_after) {
  with_session([](http::session& s, trident::testing::http_server& server) -> aio::task<void> {
    http::request r = get(server.url("/flaky/2/503"));
    r.options.retry = http::retry_policy::attempts(4);
    r.options.retry->base_delay = 10ms;
    http::response ok = co_await s.send(r);
    EXPECT_EQ(ok.status(), 200);
    EXPECT_EQ(ok.attempts(), 3);

    http::request ra = get(server.url("/flaky/1/429/1"));
    ra.options = r.options;
    const auto start = std::chrono::steady_clock::now();
    http::response ok2 = co_await s.send(ra);
    EXPECT_EQ(ok2.status(), 200);
    EXPECT_EQ(ok2.attempts(), 2);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 900ms);  // Retry-After: 1 was honoured

    // Out of attempts: the last response is returned.
    http::request many = get(server.url("/flaky/5/503"));
    many.options = r.options;
    many.options.retry->max_attempts = 2;
    http::response last = co_await s.send(many);
    EXPECT_EQ(last.status(), 503);
    EXPECT_EQ(last.attempts(), 2);
  });
}

TEST(http_session, post_is_never_retried) {
  with_session([](http::session& s, trident::testing::http_server& server) -> aio::task<void> {
    http::request r;
    r.method = "POST";
    r.url = server.url("/flaky/1/503");
    r.body = "x";
    r.options.retry = http::retry_policy::attempts(3);
    r.options.retry->base_delay = 1ms;
    http::response resp = co_await s.send(r);
    EXPECT_EQ(resp.status(), 503);
    EXPECT_EQ(resp.attempts(), 1);
  });
}

TEST(http_session, connection_errors_are_retried) {
  with_session([](http::session& s, trident::testing::http_server& server) -> aio::task<void> {
    http::request r = get(server.url("/short/10"));
    r.options.retry = http::retry_policy::attempts(3);
    r.options.retry->base_delay = 1ms;
    try {
      co_await s.send(r);
      ADD_FAILURE() << "no throw";
    } catch (const http::transfer_error& e) {
      EXPECT_EQ(e.kind(), http::error_kind::short_body);
      EXPECT_EQ(e.attempts(), 3);
    }
    EXPECT_EQ(server.requests(), 3u);
  });
}

TEST(http_session, save_to_writes_the_file_or_nothing) {
  temp_dir dir{"trident-http"};
  with_session([&dir](http::session& s, trident::testing::http_server& server) -> aio::task<void> {
    const auto path = dir.path / "big.bin";
    http::response r = co_await s.save_to(get(server.url("/bytes/3000000")), path);
    EXPECT_EQ(r.status(), 200);
    EXPECT_EQ(r.body_bytes(), 3'000'000u);
    EXPECT_EQ(std::filesystem::file_size(path), 3'000'000u);
    EXPECT_EQ(read_file(path).substr(0, 5), "abcde");

    const auto bad = dir.path / "short.bin";
    EXPECT_EQ(co_await failure_kind(s.save_to(get(server.url("/short/5000")), bad)), http::error_kind::short_body);
    EXPECT_THROW(co_await s.save_to(get(server.url("/status/404")), dir.path / "missing"), http::http_status_error);
    EXPECT_EQ(dir.names().size(), 1u);  // only big.bin: no temporaries, nothing half-written

    auto h = aio::spawn(s.save_to(get(server.url("/stall/100000")), dir.path / "cancelled.bin"));
    co_await aio::sleep(100ms);
    h.cancel();
    EXPECT_THROW(co_await h, trident::cancelled_error);
    EXPECT_EQ(dir.names().size(), 1u);
  });
}

TEST(http_session, save_to_replaces_an_existing_file_only_with_a_complete_one) {
  temp_dir dir{"trident-http"};
  const auto path = dir.path / "page.txt";
  std::ofstream(path) << "old";
  with_session([&path, &dir](http::session& s, trident::testing::http_server& server) -> aio::task<void> {
    // A failed download leaves the old file as it was. (Requests and tasks are named locals:
    // g++ 12 and temporaries in a co_await operand, docs/aio.md.)
    const http::request error = get(server.url("/status/500"));
    auto refused = s.save_to(error, path);
    EXPECT_THROW(co_await std::move(refused), http::http_status_error);
    const http::request cut = get(server.url("/short/5000"));
    auto cut_short = failure_kind(s.save_to(cut, path));
    EXPECT_EQ(co_await std::move(cut_short), http::error_kind::short_body);
    EXPECT_EQ(read_file(path), "old");
    // A complete one replaces it, as save_to always has.
    const http::request good = get(server.url("/text/new"));
    auto saved = s.save_to(good, path);
    EXPECT_EQ((co_await std::move(saved)).status(), 200);
    EXPECT_EQ(read_file(path), "hello from /text/new");
    EXPECT_EQ(dir.names().size(), 1u);
  });
}

TEST(http_session, save_to_an_unwritable_place_is_a_file_error) {
  temp_dir dir{"trident-http"};
  const auto file = dir.path / "plain-file";
  std::ofstream(file) << "x";
  with_session([&file](http::session& s, trident::testing::http_server& server) -> aio::task<void> {
    try {
      co_await s.save_to(get(server.url("/text/x")), file / "inside-a-file");
      ADD_FAILURE() << "no throw";
    } catch (const http::transfer_error& e) {
      EXPECT_EQ(e.kind(), http::error_kind::file);
      EXPECT_EQ(e.sys_errno(), ENOTDIR);
    }
  });
}

TEST(http_session, disk_full_is_a_file_error_with_enospc) {
  const int full = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  if (full < 0) GTEST_SKIP() << "no /dev/full";
  with_session([full](http::session& s, trident::testing::http_server& server) -> aio::task<void> {
    try {
      co_await s.download_to(get(server.url("/bytes/100000")), full);
      ADD_FAILURE() << "no throw";
    } catch (const http::transfer_error& e) {
      EXPECT_EQ(e.kind(), http::error_kind::file);
      EXPECT_EQ(e.sys_errno(), ENOSPC);
    }
  });
  ::close(full);
}

TEST(http_session, streamed_body_arrives_in_chunks_with_back_pressure) {
  with_session([](http::session& s, trident::testing::http_server& server) -> aio::task<void> {
    http::body_stream stream = co_await s.open(get(server.url("/bytes/2000000")), 16 * 1024);
    EXPECT_EQ(stream.head().status(), 200);
    std::size_t total = 0, chunks = 0;
    bool in_order = true;
    auto gen = stream.chunks();
    for (auto it = co_await gen.begin(); it != gen.end(); co_await ++it) {
      for (char c : *it) {
        in_order = in_order && c == static_cast<char>('a' + total % 26);
        ++total;
      }
      ++chunks;
      if (chunks % 16 == 0) co_await aio::sleep(1ms);  // a slow consumer
    }
    EXPECT_TRUE(in_order);
    EXPECT_EQ(total, 2'000'000u);
    EXPECT_GT(chunks, 1u);
  });
}

TEST(http_session, streamed_body_reports_a_failure_part_way) {
  with_session([](http::session& s, trident::testing::http_server& server) -> aio::task<void> {
    http::body_stream stream = co_await s.open(get(server.url("/short/1000")));
    std::size_t total = 0;
    try {
      while (auto chunk = co_await stream.next()) total += chunk->size();
      ADD_FAILURE() << "no throw";
    } catch (const http::transfer_error& e) {
      EXPECT_EQ(e.kind(), http::error_kind::short_body);
    }
    EXPECT_LE(total, 1000u);
    // Dropping a stream early aborts it and frees the connection.
    {
      http::body_stream dropped = co_await s.open(get(server.url("/stall/1000")));
      EXPECT_EQ(s.statistics().active, 1u);
    }
    EXPECT_EQ(s.statistics().active, 0u);
  });
}

TEST(http_session, a_paused_stream_leaves_the_loop_idle) {
  // Regression guard: a transfer paused for back-pressure must drop out of the session's epoll
  // set; if its readable socket stayed there, the pump would wake itself over and over.
  with_session([](http::session& s, trident::testing::http_server& server) -> aio::task<void> {
    http::body_stream stream = co_await s.open(get(server.url("/bytes/20000000")), 16 * 1024);
    auto first = co_await stream.next();  // the transfer is now paused behind a full buffer
    if (!first) {
      ADD_FAILURE() << "no first chunk";
      co_return;
    }
    auto& loop = aio::event_loop::running();
    co_await aio::sleep(20ms);
    const auto before = loop.statistics().steps;
    co_await aio::sleep(200ms);
    const auto steps = loop.statistics().steps - before;
    EXPECT_LT(steps, 50u) << "the loop kept running while the stream was paused";
    std::size_t total = first->size();
    while (auto chunk = co_await stream.next()) total += chunk->size();
    EXPECT_EQ(total, 20'000'000u);
  });
}

TEST(http_session, per_host_connection_limit_holds) {
  http::session_options o;
  o.max_connections = 50;
  o.max_connections_per_host = 2;
  with_session(
      [](http::session& s, trident::testing::http_server& server) -> aio::task<void> {
        std::vector<aio::task<http::response>> tasks;
        for (int i = 0; i < 12; ++i) tasks.push_back(s.get(server.url("/delay/20/x" + std::to_string(i))));
        auto rs = co_await aio::gather(std::move(tasks));
        for (const auto& r : rs) EXPECT_EQ(r.status(), 200);
        EXPECT_LE(server.connections(), 2u);  // queued in libcurl, never a third connection
      },
      o);
}

TEST(http_session, each_request_runs_with_its_own_receive_buffer) {
  // libcurl hands the body callback at most one read of its receive buffer, and never more than
  // 16 KiB (CURL_MAX_WRITE_SIZE) at once: a buffer below 16 KiB shows in the chunk sizes.
  with_session([](http::session& s, trident::testing::http_server& server) -> aio::task<void> {
    EXPECT_EQ(s.options().defaults.receive_buffer_bytes, 16u * 1024);
    // Reads through the default buffer do fill more than 4 KiB at once (tried a few times, as
    // one read's size is up to the kernel); never more than 16 KiB.
    auto largest_default = [&]() -> aio::task<std::size_t> {
      std::size_t largest = 0;
      for (int attempt = 0; attempt < 5 && largest <= 4096; ++attempt) {
        const chunk_probe probe;
        http::response r = co_await s.send(probe.request(server.url("/bytes/4000000"), std::nullopt));
        EXPECT_EQ(r.body().size(), 4'000'000u);
        EXPECT_TRUE(is_alphabet_body(r.body()));
        largest = probe.largest->load();
        EXPECT_LE(largest, 16u * 1024);
      }
      co_return largest;
    };
    EXPECT_GT(co_await largest_default(), 4096u);

    const chunk_probe small;
    http::response r = co_await s.send(small.request(server.url("/bytes/4000000"), 4096));
    EXPECT_EQ(r.body().size(), 4'000'000u);
    EXPECT_TRUE(is_alphabet_body(r.body()));
    EXPECT_GT(small.largest->load(), 0u);
    EXPECT_LE(small.largest->load(), 4096u);

    // The session pools its libcurl handles; the next request is not left with the 4 KiB one.
    EXPECT_GT(co_await largest_default(), 4096u);

    // A large buffer: the body still arrives whole and exact.
    const chunk_probe big;
    http::response b = co_await s.send(big.request(server.url("/bytes/4000000"), 512 * 1024));
    EXPECT_EQ(b.body().size(), 4'000'000u);
    EXPECT_TRUE(is_alphabet_body(b.body()));
  });
}

TEST(http_session, a_body_with_a_content_length_is_held_without_slack) {
  with_session([](http::session& s, trident::testing::http_server& server) -> aio::task<void> {
    // 70,000 bytes grown chunk by chunk would end in a string of 128 KiB; sized from the
    // Content-Length it takes what it needs.
    http::response r = co_await s.get(server.url("/bytes/70000"));
    EXPECT_EQ(r.body().size(), 70'000u);
    EXPECT_TRUE(is_alphabet_body(r.body()));
    EXPECT_LT(r.body().capacity(), 70'000u + 70'000u / 8);
    // A body limit below the length: refused as before, nothing reserved past the limit matters.
    http::request limited = get(server.url("/bytes/70000"));
    limited.options.max_body_bytes = 1000;
    EXPECT_EQ(co_await failure_kind(s.send(limited)), http::error_kind::body_too_large);
  });
}

TEST(http_session, a_session_default_receive_buffer_applies_to_every_request) {
  http::session_options o;
  o.defaults.receive_buffer_bytes = 4096;
  with_session(
      [](http::session& s, trident::testing::http_server& server) -> aio::task<void> {
        EXPECT_EQ(s.options().defaults.receive_buffer_bytes, 4096u);
        std::vector<chunk_probe> probes(8);
        std::vector<aio::task<http::response>> tasks;
        for (std::size_t i = 0; i < probes.size(); ++i) {
          // Small and large bodies side by side, each byte-exact.
          const std::string url = server.url("/bytes/" + std::to_string(1000 + i * 300'000));
          tasks.push_back(s.send(probes[i].request(url, std::nullopt)));
        }
        auto rs = co_await aio::gather(std::move(tasks));
        for (std::size_t i = 0; i < rs.size(); ++i) {
          EXPECT_EQ(rs[i].body().size(), 1000 + i * 300'000);
          EXPECT_TRUE(is_alphabet_body(rs[i].body()));
          EXPECT_LE(probes[i].largest->load(), 4096u);
        }
      },
      o);
}
