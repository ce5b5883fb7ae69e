#pragma once
/// @file
/// The C and C++ peers of the `async` suite (async_suite.cpp): the same workloads written with
/// Asio (async_peer_asio.cpp: io_context, C++20 coroutines) and with libuv (async_peer_libuv.cpp:
/// uv_loop_t callbacks). Each is compiled in only where its Debian package was found at configure
/// time (TRIDENT_BENCH_ASIO, TRIDENT_BENCH_LIBUV).
///
/// Every function runs its own loop on the calling thread, from start to end, and checks its
/// result (all timers fired, every value there, every echo byte matched), throwing
/// std::runtime_error when a check fails. None is thread-safe with itself: one run at a time.

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace trident::bench {

/// The suite's self-check: throws std::runtime_error naming `what` unless `ok`.
inline void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("benchmark self-check failed: ") + what);
}

/// tcp_echo's parameters, the same for every implementation.
struct echo_parameters {
  std::uint16_t port = 0;  ///< The echo server's port on 127.0.0.1.
  double seconds = 0;      ///< How long the clients go on.
  std::size_t connections = 0;
  std::size_t message_bytes = 0;
};

namespace asio_peer {
/// co_spawns `n` coroutines that each await a 1 s asio::steady_timer; wall time minus 1 s.
double sleepers(std::size_t n);
/// µs per coroutine: co_spawns `n` coroutines that co_return at once and waits for every value.
double gather(std::size_t n);
/// ns per `co_await ready_one()` (an asio::awaitable<int> that co_returns at once), `count` times.
double ready_await(std::size_t count);
/// Round trips per second of `p.connections` client coroutines against the echo server.
double tcp_echo(const echo_parameters& p);
/// The echo server process's body: listens on 127.0.0.1 (any port), prints the port on a line,
/// serves until standard input closes; returns the exit code.
int serve_echo();
}  // namespace asio_peer

namespace libuv_peer {
/// `n` uv_timer_t each firing once after 1 s; wall time minus 1 s.
double sleepers(std::size_t n);
/// Round trips per second of `p.connections` uv_tcp_t clients against the echo server.
double tcp_echo(const echo_parameters& p);
/// As asio_peer::serve_echo, with uv_tcp_t, uv_read_start and uv_write.
int serve_echo();
}  // namespace libuv_peer

}  // namespace trident::bench
