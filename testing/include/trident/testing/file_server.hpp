#pragma once
/// @file
/// `testing::file_server`: a loopback HTTP/1.1 server for the files of one folder, optionally with
/// an internet-like delay before each answer. Part of `trident::testing` (tests, tour, benchmarks).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace trident::testing {

/// Serves `GET /NAME` from `root` (404 for anything else, names with `..` included) on
/// 127.0.0.1 at an ephemeral port, one thread per connection, one request per connection
/// (`Connection: close`). `latency` is waited before each answer: the round trips of a distant
/// server, without which a loopback download is instant.
///
/// @par Thread safety
/// `url` and `requests` are thread safe. The destructor stops the server and joins its threads.
class file_server {
 public:
  explicit file_server(std::filesystem::path root, std::chrono::milliseconds latency = std::chrono::milliseconds(0));
  file_server(const file_server&) = delete;
  file_server& operator=(const file_server&) = delete;
  ~file_server();

  /// "http://127.0.0.1:PORT/" + `name`.
  [[nodiscard]] std::string url(const std::string& name) const;
  /// Requests received so far.
  [[nodiscard]] std::uint64_t requests() const noexcept;

  struct state;

 private:
  std::shared_ptr<state> state_;
};

}  // namespace trident::testing
