#pragma once
/// @file
/// `aio::tcp_stream` and `aio::open_connection`: a TCP connection read and written from
/// coroutines (Python's `asyncio.open_connection` with its StreamReader/StreamWriter pair).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "trident/aio/task.hpp"
#include "trident/core/errors.hpp"

namespace trident::aio {

/// The peer closed the connection before the requested bytes arrived (asyncio's
/// `IncompleteReadError`). `partial()` holds what did arrive.
class incomplete_read_error : public error {
 public:
  incomplete_read_error(std::string partial, std::size_t expected);
  [[nodiscard]] const std::string& partial() const noexcept { return partial_; }
  [[nodiscard]] std::size_t expected() const noexcept { return expected_; }

 private:
  std::string partial_;
  std::size_t expected_;
};

/// `read_until` found no delimiter within its limit (asyncio's `LimitOverrunError`).
class limit_overrun_error : public error {
 public:
  using error::error;
};

/// A connected TCP socket, registered with the event loop that created it.
///
/// Reads come from an internal buffer refilled as data arrives; writes go to an internal
/// buffer that is sent as the socket accepts it, and `drain()` waits until it is all sent
/// (back-pressure: a producer that awaits `drain()` never outruns the peer).
///
/// @par Errors
/// A peer that resets the connection makes the next read or write throw `std::system_error`
/// (ECONNRESET / EPIPE) naming the operation; reading at the end of the stream returns an empty
/// string (`read`) or throws `incomplete_read_error` (`read_exactly`, `read_until`).
///
/// @par Cancellation
/// Every awaiting member is a cancellation point. Cancel safety: a cancelled read consumes
/// nothing (bytes already buffered stay for the next read); a cancelled `drain` leaves the unsent
/// bytes buffered, still to be sent.
///
/// @par Thread safety
/// Loop thread only; one reader and one writer at a time. A stream must not outlive the event
/// loop it was created on (close or destroy it inside the loop's run).
///
/// @code
///   auto s = co_await aio::open_connection("127.0.0.1", 8080);
///   s.write("ping\n");
///   co_await s.drain();
///   std::string line = co_await s.read_until("\n");
/// @endcode
class tcp_stream {
 public:
  tcp_stream() noexcept;
  /// Adopts a connected socket (made non-blocking) and registers it with the running loop.
  explicit tcp_stream(int fd);
  tcp_stream(tcp_stream&&) noexcept;
  tcp_stream& operator=(tcp_stream&&) noexcept;
  ~tcp_stream();

  /// Up to `max` bytes, waiting for at least one; empty at the end of the stream.
  task<std::string> read(std::size_t max = 64 * 1024);
  /// Exactly `n` bytes, or `incomplete_read_error`.
  task<std::string> read_exactly(std::size_t n);
  /// Bytes up to and including `delimiter`; `limit_overrun_error` if `limit` bytes pass
  /// without one, `incomplete_read_error` if the stream ends first.
  task<std::string> read_until(std::string_view delimiter, std::size_t limit = 64 * 1024);

  /// Queues `data` and sends what the socket accepts now; never waits.
  void write(std::string_view data);
  /// Waits until every queued byte was handed to the kernel.
  task<void> drain();
  /// Bytes queued and not yet sent.
  [[nodiscard]] std::size_t write_buffer_size() const noexcept;

  /// Stops sending (the peer reads the end of the stream); reading still works.
  void shutdown_write();
  /// Closes the socket; idempotent. Unsent bytes are dropped: `drain()` first to keep them.
  void close() noexcept;
  [[nodiscard]] bool is_open() const noexcept;

  /// "address:port" of the other end ("[address]:port" for IPv6).
  [[nodiscard]] std::string peer_address() const;

 private:
  friend task<tcp_stream> open_connection(std::string, std::uint16_t, std::chrono::milliseconds);
  struct state;
  /// Connects a new socket to one address (it is registered with the loop while connecting).
  static task<tcp_stream> connect_to(const void* address, unsigned length);
  /// Resolves `host` and connects to its addresses in turn.
  static task<tcp_stream> connect_any(std::string host, std::uint16_t port);
  task<bool> fill(std::size_t want);
  state& checked() const;
  std::unique_ptr<state> state_;
};

/// Connects to `host:port` (a name or an IPv4/IPv6 address; names are resolved on a
/// thread so the loop keeps running), trying each address in turn.
/// Throws `timeout_error` after `timeout`, `std::system_error` naming the address and the
/// reason (connection refused, unreachable…) otherwise.
task<tcp_stream> open_connection(std::string host, std::uint16_t port,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace trident::aio
