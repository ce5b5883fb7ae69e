#pragma once
/// @file
/// "The internet on loopback": an HTTP/1.1 server on 127.0.0.1 that behaves like the web the
/// lesson's scrapers meet — each response after a delay, pages of realistic size, some URLs
/// failing — and also serves datasets (the mixed scenario's inputs).
///
/// The server is stateless: a URL says what to answer and how late (see `page_path`,
/// `status_path`, `dataset_path`), and the content is derived from the URL alone, so any model,
/// any process and any run fetch exactly the same bytes. The scenarios draw their URL lists from
/// their seed.
///
/// It runs as a `scenario_service` (a detached `proc::process`: outside the measured process
/// tree, ending with its starter),
/// on one thread: Trident's own event loop and `aio::start_server`, one coroutine per
/// connection, so 200 or more keep-alive connections at once cost no thread each. The web and
/// mixed scenarios keep theirs in `scenario::resources` (a `loopback_internet`).

#include <cstdint>
#include <string>

#include "scenario_service.hpp"

namespace trident::scenarios {

/// `/page/ID/MS/BYTES`: after MS milliseconds, 200 with an HTML page of exactly BYTES bytes
/// whose words are drawn from ID.
[[nodiscard]] std::string page_path(std::uint64_t id, unsigned delay_ms, std::size_t bytes);

/// `/status/CODE/ID/MS`: after MS milliseconds, status CODE (e.g. 404, 500, 503) with a short
/// HTML body naming CODE and ID.
[[nodiscard]] std::string status_path(int code, std::uint64_t id, unsigned delay_ms);

/// `/data/ID/MS/ROWS`: after MS milliseconds, 200 with a CSV time series (`t,value`, one header
/// line and ROWS rows) drawn from ID.
[[nodiscard]] std::string dataset_path(std::uint64_t id, unsigned delay_ms, std::size_t rows);

/// `/stats` answers at once with the server's connection counters, one `name value` a line:
/// `accepted` (connections so far), `open` (now) and `most_open` (open at once, at most).

/// The body the server sends for `/page/ID/…/BYTES`. Pure function; thread safe.
[[nodiscard]] std::string page_body(std::uint64_t id, std::size_t bytes);

/// The body the server sends for `/data/ID/…/ROWS`. Pure function; thread safe.
[[nodiscard]] std::string dataset_body(std::uint64_t id, std::size_t rows);

/// The largest BYTES and ROWS the server accepts (larger ones get 400).
inline constexpr std::size_t max_page_bytes = std::size_t{64} << 20;
inline constexpr std::size_t max_dataset_rows = std::size_t{4} << 20;
/// The longest delay the server accepts in a URL, in milliseconds (longer ones get 400).
inline constexpr unsigned max_delay_ms = 60'000;

/// A running loopback internet. Starting it takes a few milliseconds; destroying it stops the
/// server (connections still open are closed) and waits until its process has ended.
///
/// @par Thread safety
/// `base_url`, `url` and `port` may be called from any thread; construction and destruction
/// from one.
class loopback_internet {
 public:
  /// Starts the server process and waits for its port. Throws std::runtime_error (with the
  /// server's reason) or std::system_error when it cannot start.
  loopback_internet();

  /// "http://127.0.0.1:PORT".
  [[nodiscard]] const std::string& base_url() const noexcept { return base_url_; }
  /// `base_url() + path`.
  [[nodiscard]] std::string url(const std::string& path) const { return base_url_ + path; }
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  /// The server's process id (not a child of this process).
  [[nodiscard]] int pid() const noexcept { return service_.pid(); }

 private:
  scenario_service service_;
  std::uint16_t port_ = 0;
  std::string base_url_;
};

}  // namespace trident::scenarios
