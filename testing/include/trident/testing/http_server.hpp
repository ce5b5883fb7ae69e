#pragma once
/// @file
/// `testing::http_server`: a loopback HTTP/1.1 server that misbehaves on request, for testing
/// HTTP clients. Part of `trident::testing` (like Trio's `trio.testing`): tests, the tour and the
/// benchmarks link it; it is neither linked into nor installed with the library.

#include <cstdint>
#include <memory>
#include <string>

namespace trident::testing {

/// Serves on 127.0.0.1 at an ephemeral port from its own threads (one per connection, joined
/// when the next connection comes once its own ended), so it works beside any event loop —
/// including the one of the client under test — and for as long as a soak runs. Keep-alive.
///
/// Routes (N, K, MS are decimal numbers):
/// | path | answer |
/// | --- | --- |
/// | `/text/ANY` | 200, `hello from /text/ANY` |
/// | `/bytes/N` | 200, N bytes `abc…z` repeated, with Content-Length |
/// | `/status/N` | status N, a short body |
/// | `/delay/MS/ANY` | 200 after MS milliseconds |
/// | `/flaky/K/STATUS` | STATUS for the first K requests of this exact path, then 200 `ok` |
/// | `/flaky/K/STATUS/RA` | the same with `Retry-After: RA` |
/// | `/faulty/K/FAULT/ANY` | per exact path, cycles of K + 1 requests: K get FAULT — a status (`503`), `reset` (64 of 128 bytes, then a TCP reset) or `stall` (64 of 128 bytes, then nothing until the client closes) — then one gets 200 `ok`, and the cycle starts again |
/// | `/reset/N` | Content-Length 2N, N bytes, then a TCP reset |
/// | `/short/N` | Content-Length N+100, N bytes, then a clean close |
/// | `/drip/N/MS` | N bytes, one every MS milliseconds |
/// | `/stall/N` | Content-Length 2N, N bytes, then nothing until the server stops |
/// | `/redirect/N` | 302 to `/redirect/N-1`; `/redirect/0` is 200 `arrived` |
/// | `/loop` | 302 to itself |
/// | `/echo` | 200, text with method, query, content type, `X-Test` header and body |
/// | `/hang` | reads the request and never answers |
/// | `/close` | closes the connection without answering |
/// | anything else | 404 |
///
/// @par Thread safety
/// `port`, `url`, `requests` are thread safe. The destructor stops the server: it closes every
/// connection and joins its threads.
class http_server {
 public:
  http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;
  ~http_server();

  [[nodiscard]] std::uint16_t port() const noexcept;
  /// "http://127.0.0.1:PORT" + `path`.
  [[nodiscard]] std::string url(const std::string& path) const;
  /// Requests answered or begun so far.
  [[nodiscard]] std::uint64_t requests() const noexcept;
  /// Connections accepted so far.
  [[nodiscard]] std::uint64_t connections() const noexcept;

  struct state;

 private:
  std::shared_ptr<state> state_;
};

/// A port on 127.0.0.1 with nothing listening (bound, read, closed): connecting to it is
/// refused — for testing connection errors. Another program may take it meanwhile; in tests on
/// one machine that is rare enough. Thread safe.
[[nodiscard]] std::uint16_t closed_loopback_port();

}  // namespace trident::testing
