#pragma once
/// @file
/// `aio::start_server`: accept TCP connections and serve each in its own task (Python's
/// `asyncio.start_server`).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "trident/aio/spawn.hpp"
#include "trident/aio/task.hpp"
#include "trident/aio/tcp_stream.hpp"

namespace trident::aio {

/// A listening socket whose accept loop spawns `handler(stream)` for every connection.
///
/// @par Shutdown
/// `close()` stops accepting (the accept loop is cancelled and the socket closed); connections
/// already accepted keep running until their handlers return. The destructor closes.
///
/// @par Thread safety
/// Loop thread only. A server must not outlive the event loop it was started on.
class tcp_server {
 public:
  using handler = std::function<task<void>(tcp_stream)>;

  tcp_server(tcp_server&&) noexcept;
  tcp_server& operator=(tcp_server&&) noexcept;
  ~tcp_server();

  /// The port it listens on (the one the system chose when asked for port 0).
  [[nodiscard]] std::uint16_t port() const noexcept;
  /// Connections accepted so far.
  [[nodiscard]] std::uint64_t accepted() const noexcept;
  void close() noexcept;

 private:
  friend task<tcp_server> start_server(handler, std::string, std::uint16_t, int);
  struct state;
  explicit tcp_server(std::shared_ptr<state> s) noexcept;
  /// Accepts until cancelled; holds the state weakly so a dropped server does not keep itself.
  static task<void> accept_connections(std::weak_ptr<state> weak);
  /// Serves one connection, keeping the handler alive while it runs.
  static task<void> serve_connection(std::shared_ptr<handler> serve, tcp_stream stream);
  std::shared_ptr<state> state_;
};

/// Listens on `host:port` (an IPv4 or IPv6 address; port 0 picks a free one) and serves every
/// connection with `serve` in a task of its own. The handler object is kept alive as long as
/// any connection uses it. Throws `std::system_error` if the address cannot be bound.
task<tcp_server> start_server(tcp_server::handler serve, std::string host, std::uint16_t port, int backlog = 512);

}  // namespace trident::aio
