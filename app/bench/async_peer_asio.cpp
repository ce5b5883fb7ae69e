// The `async` suite's workloads in Asio (standalone, header only), written as its documentation
// shows: one asio::io_context run on this thread (concurrency hint 1), C++20 coroutines
// (asio::awaitable, asio::co_spawn, asio::use_awaitable), asio::steady_timer and asio::ip::tcp.

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

// Asio 1.22 (Debian 12) turns on its C++20 coroutines under clang only for the Coroutines TS
// (`__cpp_coroutines`, <experimental/coroutine>), which clang 16 with libstdc++ no longer
// offers; it has the standard ones, which Asio's code uses once told they are there.
#if defined(__clang__) && defined(__cpp_impl_coroutine) && !defined(ASIO_HAS_CO_AWAIT)
#define ASIO_HAS_CO_AWAIT 1
#endif
#include <asio.hpp>

#include "async_peers.hpp"
#include "report.hpp"

namespace trident::bench::asio_peer {
namespace {

using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;

/// Keeps the compiler from merging loop iterations (e.g. summing a value loaded once).
inline void clobber_memory() noexcept { asm volatile("" ::: "memory"); }

/// Runs `main` on a fresh io_context until the context has no work left; returns its value and
/// rethrows what it threw.
template <typename T>
T run_main(awaitable<T> main) {
  asio::io_context io(1);
  T value{};
  std::exception_ptr error;
  asio::co_spawn(io, std::move(main), [&](std::exception_ptr e, T v) {
    error = e;
    value = v;
  });
  io.run();
  if (error) std::rethrow_exception(error);
  return value;
}

// -- sleepers ----------------------------------------------------------------------------------

awaitable<void> sleeper(std::size_t* fired) {
  asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::seconds(1));
  co_await timer.async_wait(use_awaitable);
  ++*fired;
}

// -- gather ------------------------------------------------------------------------------------

awaitable<int> returns_at_once(int i) { co_return i; }

/// Asio 1.22 has no gather over a run-time count of coroutines (its experimental parallel group
/// takes a fixed list), so: co_spawn each with a completion handler that stores its value and
/// counts, and the last one cancels a timer that the gathering coroutine waits on.
awaitable<double> gather_main(std::size_t n) {
  auto executor = co_await asio::this_coro::executor;
  stopwatch clock;
  std::vector<int> values(n, -1);
  std::size_t done = 0;
  asio::steady_timer all_done(executor, asio::steady_timer::time_point::max());
  for (std::size_t i = 0; i < n; ++i) {
    asio::co_spawn(executor, returns_at_once(static_cast<int>(i)),
                   [&values, &done, &all_done, i, n](std::exception_ptr e, int v) {
                     if (e) std::rethrow_exception(e);
                     values[i] = v;
                     if (++done == n) all_done.cancel();
                   });
  }
  if (done < n) {
    asio::error_code ec;  // operation_aborted: the last child finished
    auto token = asio::redirect_error(use_awaitable, ec);
    co_await all_done.async_wait(token);
  }
  const double s = clock.seconds();
  check(done == n && values.front() == 0 && values.back() == static_cast<int>(n - 1), "gather_100k/asio values");
  co_return s / static_cast<double>(n) * 1e6;
}

// -- ready_await -------------------------------------------------------------------------------

awaitable<int> ready_one() { co_return 1; }

awaitable<double> ready_await_main(std::size_t count) {
  long long total = 0;
  stopwatch clock;
  for (std::size_t i = 0; i < count; ++i) {
    total += co_await ready_one();
    clobber_memory();
  }
  const double s = clock.seconds();
  check(total == static_cast<long long>(count), "ready_await/asio sum");
  co_return s / static_cast<double>(count) * 1e9;
}

// -- tcp_echo ----------------------------------------------------------------------------------

awaitable<void> echo_client(tcp::endpoint server, std::chrono::steady_clock::time_point end, std::size_t message_bytes,
                            std::uint64_t* round_trips) {
  tcp::socket socket(co_await asio::this_coro::executor);
  co_await socket.async_connect(server, use_awaitable);
  socket.set_option(tcp::no_delay(true));
  const std::string message(message_bytes, 'x');
  std::string back(message_bytes, '\0');
  const asio::const_buffer out = asio::buffer(message);
  const asio::mutable_buffer in = asio::buffer(back);
  while (std::chrono::steady_clock::now() < end) {
    co_await asio::async_write(socket, out, use_awaitable);
    co_await asio::async_read(socket, in, use_awaitable);
    check(back == message, "tcp_echo/asio echoed bytes");
    ++*round_trips;
  }
}

awaitable<void> echo_back(tcp::socket socket) {
  std::array<char, 4096> data;
  asio::error_code ec;  // end of stream or reset: the connection is done
  auto token = asio::redirect_error(use_awaitable, ec);
  for (;;) {
    const std::size_t n = co_await socket.async_read_some(asio::buffer(data), token);
    if (ec) co_return;
    const asio::const_buffer out = asio::buffer(data, n);
    co_await asio::async_write(socket, out, token);
    if (ec) co_return;
  }
}

awaitable<void> listen(tcp::acceptor& acceptor) {
  auto executor = co_await asio::this_coro::executor;
  for (;;) {
    tcp::socket socket = co_await acceptor.async_accept(use_awaitable);
    socket.set_option(tcp::no_delay(true));
    asio::co_spawn(executor, echo_back(std::move(socket)), asio::detached);
  }
}

/// Completes when `in` reaches its end (the benchmark closed our standard input).
awaitable<void> wait_for_end(asio::posix::stream_descriptor& in) {
  std::array<char, 64> data;
  asio::error_code ec;
  auto token = asio::redirect_error(use_awaitable, ec);
  while (!ec) (void)co_await in.async_read_some(asio::buffer(data), token);
}

}  // namespace

double sleepers(std::size_t n) {
  asio::io_context io(1);
  std::size_t fired = 0;
  stopwatch clock;
  for (std::size_t i = 0; i < n; ++i) asio::co_spawn(io, sleeper(&fired), asio::detached);
  io.run();
  const double s = clock.seconds() - 1.0;
  check(fired == n, "sleepers/asio: every timer fired");
  return s;
}

double gather(std::size_t n) { return run_main(gather_main(n)); }

double ready_await(std::size_t count) { return run_main(ready_await_main(count)); }

double tcp_echo(const echo_parameters& p) {
  asio::io_context io(1);
  const tcp::endpoint server(asio::ip::address_v4::loopback(), p.port);
  std::uint64_t round_trips = 0;
  std::size_t finished = 0;
  std::exception_ptr error;
  stopwatch clock;
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                          std::chrono::duration<double>(p.seconds));
  for (std::size_t i = 0; i < p.connections; ++i) {
    asio::co_spawn(io, echo_client(server, end, p.message_bytes, &round_trips), [&](std::exception_ptr e) {
      if (e && !error) error = e;
      ++finished;
    });
  }
  io.run();
  const double s = clock.seconds();
  if (error) std::rethrow_exception(error);
  check(finished == p.connections && round_trips > 0, "tcp_echo/asio: every client finished");
  return static_cast<double>(round_trips) / s;
}

int serve_echo() {
  asio::io_context io(1);
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  std::printf("%u\n", static_cast<unsigned>(acceptor.local_endpoint().port()));
  std::fflush(stdout);
  asio::co_spawn(io, listen(acceptor), asio::detached);
  asio::posix::stream_descriptor in(io, ::dup(STDIN_FILENO));
  asio::co_spawn(io, wait_for_end(in), [&io](std::exception_ptr) { io.stop(); });
  io.run();
  return 0;
}

}  // namespace trident::bench::asio_peer
