#pragma once
/// @file
/// `http::request` and its per-request options: what `session::send` sends.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "trident/http/retry_policy.hpp"

namespace trident::http {

/// The receive buffer a transfer gets unless its options say otherwise
/// (`request_options::receive_buffer_bytes`): libcurl's own default, 16 KiB.
inline constexpr std::size_t default_receive_buffer_bytes = 16 * 1024;

/// Limits and policies of one request, field by field.
///
/// Every field is optional: an unset field takes the session's default
/// (`session_options::defaults`), and a field the session leaves unset takes the built-in
/// default named in its comment (`request_options::builtin()`). A request that sets only
/// `total_timeout` therefore keeps the session's TLS, redirect, body-size and retry settings;
/// `with_defaults` is that merge.
///
/// A plain value; copy it freely.
struct request_options {
  /// Longest wait for the connection (TCP and TLS) to be established. Built in: 10 s.
  std::optional<std::chrono::milliseconds> connect_timeout;
  /// Longest time for the whole transfer (zero: no limit). Built in: no limit.
  std::optional<std::chrono::milliseconds> total_timeout;
  /// A transfer that receives less than `stall_min_bytes_per_s` for this long fails with a
  /// timeout (zero: no stall detection). libcurl measures it in whole seconds. Built in: 30 s.
  std::optional<std::chrono::seconds> stall_timeout;
  /// Built in: 1 byte per second.
  std::optional<std::uint64_t> stall_min_bytes_per_s;
  /// Redirects followed (zero: none; the 3xx response is returned). Built in: 10.
  std::optional<int> max_redirects;
  /// Largest body accepted (zero: no limit); a larger one fails with `body_too_large` as soon
  /// as it is known (from Content-Length, or when the received bytes pass it). Built in: no limit.
  std::optional<std::uint64_t> max_body_bytes;
  /// Verify the server's certificate and host name against the system CA store. Turning it off
  /// is explicit and per session or request. Built in: true.
  std::optional<bool> verify_tls;
  /// One policy, set or inherited as a whole (its fields belong together: to change one, copy
  /// the session's — `*s.options().defaults.retry` — and edit it). Built in: one attempt.
  std::optional<retry_policy> retry;
  /// libcurl's receive buffer for this transfer (CURLOPT_BUFFERSIZE), in bytes: what one read
  /// from the socket takes at most, and the largest chunk the body callbacks see. libcurl holds
  /// it only while the transfer runs, so a session's receive memory is this times the transfers
  /// in flight. A larger buffer means fewer reads and callbacks (and file writes, for
  /// `save_to`) per body; it pays only for bodies well over 16 KiB. libcurl clamps it to
  /// 1 KiB .. 512 KiB. Built in: 16 KiB, libcurl's own default (see docs/http.md for the figures).
  std::optional<std::size_t> receive_buffer_bytes;
  /// Called on the loop thread running the transfer (another thread than the caller's when the
  /// session has several loops) with the size of each received chunk of body (for progress
  /// displays). Must not throw or await. Empty: unset (the session's, if any).
  std::function<void(std::size_t)> on_body_bytes;
  /// Called on the loop thread running the transfer when a response body begins to arrive, once per attempt (so a
  /// retried download says "start again from byte 0"), with its Content-Length, or -1 when the
  /// server did not say. For progress displays that show bytes expected. Must not throw or
  /// await. Empty: unset (the session's, if any).
  std::function<void(std::int64_t)> on_body_start;

  /// This request's fields, each unset one taken from `defaults`. Pure function.
  [[nodiscard]] request_options with_defaults(const request_options& defaults) const;

  /// Trident's own defaults, every field set (the values named above).
  [[nodiscard]] static request_options builtin();
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
  /// This request's limits and policies; unset fields take the session's defaults.
  request_options options;
};

}  // namespace trident::http
