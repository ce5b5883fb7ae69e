#include "trident/http/response.hpp"

#include <strings.h>

#include <cctype>

#include "trident/http/errors.hpp"
#include "trident/http/retry_policy.hpp"

namespace trident::http {

std::string_view to_string(error_kind k) noexcept {
  switch (k) {
    case error_kind::malformed_url:
      return "malformed_url";
    case error_kind::unsupported_scheme:
      return "unsupported_scheme";
    case error_kind::dns:
      return "dns";
    case error_kind::connect:
      return "connect";
    case error_kind::tls:
      return "tls";
    case error_kind::timeout:
      return "timeout";
    case error_kind::connection:
      return "connection";
    case error_kind::short_body:
      return "short_body";
    case error_kind::too_many_redirects:
      return "too_many_redirects";
    case error_kind::body_too_large:
      return "body_too_large";
    case error_kind::file:
      return "file";
    case error_kind::other:
      return "other";
  }
  return "other";
}

http_status_error::http_status_error(int status, std::string url)
    : error("HTTP status " + std::to_string(status) + " for " + url, url), status_(status) {}

std::optional<std::string_view> response::header(std::string_view name) const noexcept {
  for (const auto& [k, v] : headers_) {
    if (k.size() == name.size() && ::strncasecmp(k.data(), name.data(), k.size()) == 0) return std::string_view(v);
  }
  return std::nullopt;
}

void response::raise_for_status() const {
  if (status_ >= 400) throw http_status_error(status_, url_);
}

// -- retry policy ----------------------------------------------------------------------------

bool retry_policy::retriable(error_kind k) noexcept {
  switch (k) {
    case error_kind::connect:
    case error_kind::connection:
    case error_kind::short_body:
    case error_kind::timeout:
      return true;
    default:
      return false;
  }
}

std::chrono::milliseconds retry_policy::backoff(int next_attempt, double unit) const noexcept {
  // cap = min(max_delay, base * 2^(n-2)) for attempt n >= 2; the shift is bounded so it cannot
  // overflow.
  const int shift = std::min(std::max(next_attempt - 2, 0), 30);
  const long double cap =
      std::min<long double>(static_cast<long double>(max_delay.count()),
                            static_cast<long double>(base_delay.count()) * static_cast<long double>(1LL << shift));
  const double u = unit < 0 ? 0 : (unit >= 1 ? 0.999999 : unit);
  return std::chrono::milliseconds(static_cast<long long>(cap * u));
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view v,
                                                           std::chrono::system_clock::time_point now) {
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  if (v.empty()) return std::nullopt;
  bool digits = true;
  for (char c : v) digits = digits && std::isdigit(static_cast<unsigned char>(c));
  if (digits) {
    if (v.size() > 9) return std::chrono::milliseconds(std::chrono::hours(24 * 365));
    long long secs = 0;
    for (char c : v) secs = secs * 10 + (c - '0');
    return std::chrono::milliseconds(secs * 1000);
  }
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
  std::string s(v);
  struct tm tm {};
  const char* end = ::strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  // A date the clock cannot hold (system_clock counts nanoseconds: years 1678 to 2262) would
  // overflow on the way: one before 1970 has passed, one after 2200 is as far as a long delay.
  if (tm.tm_year < 70) return std::chrono::milliseconds(0);
  if (tm.tm_year > 2200 - 1900) return std::chrono::milliseconds(std::chrono::hours(24 * 365));
  const std::time_t when = ::timegm(&tm);
  const auto at = std::chrono::system_clock::from_time_t(when);
  if (at <= now) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(at - now);
}

bool idempotent(std::string_view m) noexcept {
  return m == "GET" || m == "HEAD" || m == "PUT" || m == "DELETE" || m == "OPTIONS" || m == "TRACE";
}

}  // namespace trident::http
