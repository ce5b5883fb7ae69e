#pragma once
/// @file
/// `http::response`: status, headers and (for `get`/`post`) the body of one HTTP response.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace trident::http {

/// A received response. A plain value: copy or move it freely, from any thread.
///
/// `body()` holds the whole body for `session::get`/`post`/`send`; it is empty for `head`, for
/// `save_to` (the body went to the file) and for `open` (the body is streamed).
class response {
 public:
  using header_list = std::vector<std::pair<std::string, std::string>>;

  response() = default;
  response(int status, std::string url, header_list headers, std::string body)
      : status_(status), url_(std::move(url)), headers_(std::move(headers)), body_(std::move(body)) {}

  /// The HTTP status code of the final response (after redirects).
  [[nodiscard]] int status() const noexcept { return status_; }
  /// Whether the status is 2xx.
  [[nodiscard]] bool ok() const noexcept { return status_ >= 200 && status_ < 300; }
  /// The URL that answered (after redirects).
  [[nodiscard]] const std::string& url() const noexcept { return url_; }
  /// Headers of the final response in arrival order; names as the server sent them.
  [[nodiscard]] const header_list& headers() const noexcept { return headers_; }
  /// The first header called `name` (case-insensitive), if any.
  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const noexcept;
  /// The body bytes.
  [[nodiscard]] const std::string& body() const noexcept { return body_; }
  /// The body as text (aiohttp's `await resp.text()`); no charset conversion.
  [[nodiscard]] std::string_view text() const noexcept { return body_; }
  /// Takes the body out of the response.
  [[nodiscard]] std::string take_body() noexcept { return std::move(body_); }

  /// Throws `http_status_error` (with status and URL) when the status is 4xx or 5xx.
  void raise_for_status() const;

  /// Attempts it took (1 unless the session's retry policy retried).
  [[nodiscard]] int attempts() const noexcept { return attempts_; }
  /// Bytes of body received in the final attempt (also for `save_to` and streams).
  [[nodiscard]] std::uint64_t body_bytes() const noexcept { return body_bytes_; }
  /// "1.1", "2", ... of the final response.
  [[nodiscard]] const std::string& http_version() const noexcept { return version_; }

  // For the session.
  void set_attempts(int n) noexcept { attempts_ = n; }
  void set_body_bytes(std::uint64_t n) noexcept { body_bytes_ = n; }
  void set_http_version(std::string v) { version_ = std::move(v); }

 private:
  int status_ = 0;
  std::string url_;
  header_list headers_;
  std::string body_;
  int attempts_ = 1;
  std::uint64_t body_bytes_ = 0;
  std::string version_;
};

}  // namespace trident::http
