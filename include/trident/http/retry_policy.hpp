#pragma once
/// @file
/// `http::retry_policy`: when and how long to wait before trying a request again.

#include <chrono>
#include <optional>
#include <string_view>

#include "trident/http/errors.hpp"

namespace trident::http {

/// Exponential backoff with full jitter ("Exponential Backoff And Jitter", AWS Architecture
/// Blog, 2015): before attempt n+1 the session sleeps a uniformly random time in
/// [0, min(max_delay, base_delay * 2^(n-1))], or what the server's `Retry-After` asks for.
///
/// Retried: connection errors (`connect`, `connection`, `short_body`), `timeout`, and responses
/// 429 and 503 — for idempotent methods only (GET, HEAD, PUT, DELETE, OPTIONS); a POST is never
/// sent twice. A `Retry-After` longer than what is left of `max_total` ends the retries: the
/// last response (or error) is returned as it is.
///
/// A plain value; copy it freely. The default makes one attempt (no retries).
struct retry_policy {
  int max_attempts = 1;                         ///< Attempts in all, including the first.
  std::chrono::milliseconds base_delay{200};    ///< Backoff cap before the 2nd attempt.
  std::chrono::milliseconds max_delay{10'000};  ///< Upper bound of one backoff.
  std::chrono::milliseconds max_total{60'000};  ///< No new attempt starts after this much time.
  bool honour_retry_after = true;               ///< Use the server's Retry-After for 429/503.

  /// `attempts` in all with the default delays.
  static retry_policy attempts(int attempts) {
    retry_policy p;
    p.max_attempts = attempts;
    return p;
  }

  /// Whether a failure of this kind is worth another attempt.
  [[nodiscard]] static bool retriable(error_kind k) noexcept;
  /// Whether a response with this status is worth another attempt (429, 503).
  [[nodiscard]] static bool retriable(int status) noexcept { return status == 429 || status == 503; }
  /// The full-jitter backoff before attempt `next_attempt` (2, 3, ...). `unit` in [0, 1) is the
  /// random draw (passed in so that tests can fix it).
  [[nodiscard]] std::chrono::milliseconds backoff(int next_attempt, double unit) const noexcept;
};

/// Parses a `Retry-After` value: delay-seconds or an HTTP-date (RFC 9110 §10.2.3). `now` is the
/// wall-clock time to measure a date against. Empty when it is neither.
[[nodiscard]] std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

/// Whether `method` is idempotent (RFC 9110 §9.2.2), so that sending it twice is safe.
[[nodiscard]] bool idempotent(std::string_view method) noexcept;

}  // namespace trident::http
