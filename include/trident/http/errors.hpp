#pragma once
/// @file
/// The errors an HTTP request can end with: a transfer that failed (`transfer_error`, with a
/// `kind` saying why) and a response whose status says failure (`http_status_error`, raised by
/// `response::raise_for_status`).

#include <string>
#include <string_view>
#include <utility>

#include "trident/core/errors.hpp"

namespace trident::http {

/// Why a transfer failed. Stable names (see `to_string`) appear in `trident fetch --json`.
enum class error_kind {
  malformed_url,       ///< The URL could not be parsed.
  unsupported_scheme,  ///< Not http:// or https:// (also for a redirect to another scheme).
  dns,                 ///< The host name did not resolve.
  connect,             ///< No connection (refused, unreachable).
  tls,                 ///< TLS handshake or certificate verification failed.
  timeout,             ///< Connect, total or stall timeout.
  connection,          ///< The connection broke mid-transfer (reset, empty reply, send/receive error).
  short_body,          ///< The body ended before its Content-Length.
  too_many_redirects,  ///< More redirects than the request allows (or a loop).
  body_too_large,      ///< The body exceeded the request's maximum size.
  file,                ///< Writing the body to disk failed (ENOSPC, EACCES, ...); see `sys_errno()`.
  other,               ///< Anything else libcurl reports.
};

/// A stable lower-case name for `k` ("dns", "short_body", ...).
[[nodiscard]] std::string_view to_string(error_kind k) noexcept;

/// Common base of the HTTP errors; carries the URL the request was for.
class error : public trident::error {
 public:
  error(const std::string& what, std::string url) : trident::error(what), url_(std::move(url)) {}
  [[nodiscard]] const std::string& url() const noexcept { return url_; }
  /// Attempts made before giving up (more than 1 when a retry policy retried).
  [[nodiscard]] int attempts() const noexcept { return attempts_; }
  void set_attempts(int n) noexcept { attempts_ = n; }

 private:
  std::string url_;
  int attempts_ = 1;
};

/// A transfer that did not produce a complete response. Nothing of its body is handed out as
/// if it were complete: `save_to` discards its unfinished file, `get` returns no response.
class transfer_error : public error {
 public:
  transfer_error(error_kind kind, const std::string& what, std::string url, int curl_code = 0, int sys_errno = 0)
      : error(what, std::move(url)), kind_(kind), curl_code_(curl_code), errno_(sys_errno) {}
  [[nodiscard]] error_kind kind() const noexcept { return kind_; }
  /// libcurl's CURLcode, or 0 when the error was found before libcurl ran.
  [[nodiscard]] int curl_code() const noexcept { return curl_code_; }
  /// The system error number: the file's for `error_kind::file` (e.g. ENOSPC); for the other
  /// kinds, the last one libcurl met (e.g. EMFILE, ECONNREFUSED), 0 if none.
  [[nodiscard]] int sys_errno() const noexcept { return errno_; }

 private:
  error_kind kind_;
  int curl_code_;
  int errno_;
};

/// A response with a 4xx or 5xx status, raised by `response::raise_for_status()` (aiohttp's
/// `ClientResponseError`).
class http_status_error : public error {
 public:
  http_status_error(int status, std::string url);
  [[nodiscard]] int status() const noexcept { return status_; }

 private:
  int status_;
};

}  // namespace trident::http
