#pragma once
/// @file
/// `http::session`: a pool of HTTP connections driven by the event loop (aiohttp's
/// `ClientSession`), on libcurl's multi-socket interface.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "trident/aio/async_generator.hpp"
#include "trident/aio/task.hpp"
#include "trident/http/errors.hpp"
#include "trident/http/request.hpp"
#include "trident/http/response.hpp"

namespace trident::http {

/// Connection limits and request defaults of one session.
struct session_options {
  /// Connections open at once, over all hosts (CURLMOPT_MAX_TOTAL_CONNECTIONS); requests beyond
  /// it wait for a free connection. Zero: no limit.
  int max_connections = 100;
  /// Connections open at once to one host (CURLMOPT_MAX_HOST_CONNECTIONS). Zero: no limit.
  int max_connections_per_host = 0;
  /// Defaults for every request, field by field: a request's unset option fields take these.
  /// Fields left unset here take the built-in defaults (`request_options::builtin()`);
  /// `session::options()` reports them filled in.
  request_options defaults{};
  std::string user_agent = "trident-http/0.1";
  /// Event-loop threads that run the session's transfers. 1 (the default): every transfer runs
  /// on the loop that made the session, which needs no thread of its own. N > 1: the session
  /// starts N - 1 threads, each running its own event loop and libcurl multi handle, and each
  /// request goes to whichever of the N loops (its own included) has the fewest requests in
  /// flight, ties taken in turn; the caller still awaits it on its own loop. For clients bound by libcurl's CPU
  /// time per request (many small requests). 0: one per hardware thread.
  ///
  /// The connection limits above stay limits of the whole session: each loop gets an equal
  /// share of them (the remainder to the first loops), and no more loops run than a limit has
  /// connections. Connections are not shared between loops, so a loop opens its own to a host
  /// another loop already talks to. `open` (a streamed body) always runs on the caller's loop.
  int loops = 1;
  /// Proxy URL for every request ("http://host:port", "socks5://..."); empty: none. The
  /// environment's http_proxy/https_proxy are not consulted (as aiohttp's trust_env=False).
  std::string proxy;
};

/// Counters of a session.
struct session_statistics {
  std::uint64_t requests = 0;    ///< Transfers started (each retry counts).
  std::uint64_t active = 0;      ///< Transfers in flight now.
  std::uint64_t body_bytes = 0;  ///< Body bytes received.
  std::uint64_t retries = 0;     ///< Attempts after a first.
};

class session;

/// A response whose body is read as it arrives (`session::open`): aiohttp's
/// `resp.content.iter_chunked(n)`. Status and headers are known when `open` returns.
///
/// Back-pressure: while the consumer does not ask for the next chunk, at most about
/// `buffer_bytes` are held; beyond that the transfer is paused (CURL_WRITEFUNC_PAUSE) and the
/// server sees TCP flow control. Destroying the stream before the end aborts the transfer and
/// frees its connection.
///
/// @par Thread safety
/// Loop thread only; one consumer. The session must outlive the stream.
///
/// @par Cancellation
/// `next()` is a cancellation point: cancelling the consuming task raises `cancelled_error`;
/// the chunk not yet handed out is dropped and the transfer aborted.
class body_stream {
 public:
  body_stream(body_stream&&) noexcept;
  body_stream& operator=(body_stream&&) noexcept;
  ~body_stream();

  /// Status and headers (empty body).
  [[nodiscard]] const response& head() const noexcept { return head_; }

  /// The next chunk of the body, or an empty optional at its end. Throws `transfer_error` when
  /// the transfer fails part way (reset, short body, timeout, too large).
  aio::task<std::optional<std::string>> next();

  /// The chunks as an async generator (`for (auto it = co_await g.begin(); ...)`).
  aio::async_generator<std::string> chunks();

  struct state;

 private:
  friend class session;
  explicit body_stream(std::unique_ptr<state> s, response head) noexcept;
  std::unique_ptr<state> state_;
  response head_;
};

/// A pool of connections for many concurrent requests from one event loop.
///
/// One session per program (or per service it talks to) is the rule, as with aiohttp: it keeps
/// connections alive between requests, multiplexes HTTP/2 streams where the server offers them,
/// and caps the connections open at once. libcurl does the protocol work (HTTP/1.1, HTTP/2, TLS,
/// redirects, compression); the session plugs libcurl's sockets and timer into the running
/// `aio::event_loop` (see docs/http.md), so requests cost no thread of their own.
///
/// @par Thread safety
/// Loop thread only: create, use and destroy a session on the thread running its event loop.
/// Requests must have ended before the session is destroyed (await them, or use a task group).
/// With `session_options::loops` > 1 the session's own threads run transfers too; the
/// requests' callbacks (`request_options::on_body_bytes`, `on_body_start`) then run on the
/// thread of the loop that runs the transfer, and `statistics()` may be read from any thread.
///
/// @par Cancellation
/// Every awaiting function is a cancellation point. Cancelling the task that awaits a request
/// removes its transfer from libcurl at once: the connection is closed (its state mid-transfer
/// is unknown) and its slot is free for the next request. `save_to` abandons its unfinished file.
///
/// @code
///   http::session s;
///   http::response r = co_await s.get("http://127.0.0.1:8080/index.html");
///   r.raise_for_status();
///   fmt::print("{} bytes\n", r.body().size());
/// @endcode
class session {
 public:
  /// Needs a running event loop on this thread (throws std::logic_error otherwise). With
  /// `options.loops` > 1, starts the session's threads and waits until their loops run; throws
  /// std::system_error if a thread cannot start, std::invalid_argument if `loops` < 0.
  explicit session(session_options options = {});
  session(const session&) = delete;
  session& operator=(const session&) = delete;
  ~session();

  /// Sends `req` and returns the whole response, retrying by the request's policy. Throws
  /// `transfer_error` when no response came; a 4xx/5xx response is returned (see
  /// `response::raise_for_status`).
  aio::task<response> send(request req);

  aio::task<response> get(std::string url);
  aio::task<response> head(std::string url);
  aio::task<response> post(std::string url, std::string body, std::string content_type);

  /// Sends `req` and writes the body to `path` as it arrives, through a `trident::atomic_file`:
  /// `path` gets the file only when the body is complete and the status is 2xx, and an existing
  /// file there is then replaced at once. A retry (by the request's policy) empties the file and
  /// starts again. On any failure (transfer error, 4xx/5xx — as `http_status_error`,
  /// cancellation, disk full — as `transfer_error` of kind `file`) nothing is left under `path`
  /// and no temporary beside it. Returns the response with an empty body.
  aio::task<response> save_to(request req, std::filesystem::path path);

  /// Sends `req` and writes the body to the open file descriptor `fd` as it arrives (no
  /// retries once a byte has been written). Throws `transfer_error` with kind `file` when a
  /// write fails.
  aio::task<response> download_to(request req, int fd);

  /// Sends `req` and returns once status and headers are in; the body is read from the stream.
  /// Always runs on the caller's loop.
  aio::task<body_stream> open(request req, std::size_t buffer_bytes = 256 * 1024);

  /// The options the session was made with, `defaults` completed from the built-in ones (every
  /// field set).
  [[nodiscard]] const session_options& options() const noexcept;
  /// The counters of every loop of the session, added up. Thread safe.
  [[nodiscard]] session_statistics statistics() const noexcept;
  /// The loops that run transfers (1 + the session's own threads): `options.loops` capped by
  /// the connection limits.
  [[nodiscard]] std::size_t loops() const noexcept;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace trident::http
