#pragma once
/// @file
/// `http::request` and its per-request options: what `session::send` sends.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "trident/http/retry_policy.hpp"

namespace trident::http {

/// Limits and policies of one request. Unset fields take the session's defaults
/// (`session_options::defaults`).
struct request_options {
  /// Longest wait for the connection (TCP and TLS) to be established.
  std::chrono::milliseconds connect_timeout{10'000};
  /// Longest time for the whole transfer (zero: no limit).
  std::chrono::milliseconds total_timeout{0};
  /// A transfer that receives less than `stall_min_bytes_per_s` for this long fails with a
  /// timeout (zero: no stall detection). libcurl measures it in whole seconds.
  std::chrono::seconds stall_timeout{30};
  std::uint64_t stall_min_bytes_per_s = 1;
  /// Redirects followed (zero: none; the 3xx response is returned).
  int max_redirects = 10;
  /// Largest body accepted (zero: no limit); a larger one fails with `body_too_large` as soon
  /// as it is known (from Content-Length, or when the received bytes pass it).
  std::uint64_t max_body_bytes = 0;
  /// Verify the server's certificate and host name against the system CA store. Turning it off
  /// is explicit and per session or request.
  bool verify_tls = true;
  retry_policy retry{};
  /// Called on the loop thread with the size of each received chunk of body (for progress
  /// displays). Must not throw or await.
  std::function<void(std::size_t)> on_body_bytes;
};

/// One HTTP request. A plain value.
struct request {
  std::string method = "GET";
  std::string url;
  /// Extra request headers, "Name" / "value".
  std::vector<std::pair<std::string, std::string>> headers;
  /// Query parameters appended to the URL, percent-encoded by the session.
  std::vector<std::pair<std::string, std::string>> params;
  std::string body;
  /// Content-Type of `body` (sent only when not empty).
  std::string content_type;
  /// Overrides of the session's defaults for this request only.
  std::optional<request_options> options;
};

}  // namespace trident::http
