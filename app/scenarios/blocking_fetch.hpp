#pragma once
/// @file
/// `blocking_fetcher`: one libcurl easy handle, reused from request to request, so its
/// connection stays open between them (Python's `requests.Session`). The blocking client of the
/// scenarios' sequential, thread and process models.

#include <string>

namespace trident::scenarios {

/// A response as the blocking client saw it.
struct fetched {
  int status = 0;
  std::string body;
};

/// A blocking HTTP client on one libcurl easy handle.
///
/// @par Thread safety
/// One thread at a time per object (libcurl's rule for an easy handle): give each thread its own.
///
/// @par Cancellation
/// None: `get` blocks until the response is in or a timeout (10 s to connect, 60 s in all).
class blocking_fetcher {
 public:
  /// Throws std::runtime_error when libcurl cannot make a handle.
  blocking_fetcher();
  blocking_fetcher(const blocking_fetcher&) = delete;
  blocking_fetcher& operator=(const blocking_fetcher&) = delete;
  ~blocking_fetcher();

  /// GETs `url`. A 4xx/5xx response is returned like any other; a transfer that fails
  /// (refused, reset, timed out) throws std::runtime_error naming the URL and libcurl's reason.
  fetched get(const std::string& url);

 private:
  void* handle_ = nullptr;  // CURL*, kept out of this header
  std::string body_;
};

}  // namespace trident::scenarios
