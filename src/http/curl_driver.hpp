#pragma once
/// @file
/// Private to the http layer (it includes libcurl): `curl_driver`, libcurl's multi-socket
/// interface plugged into the event loop. curl_driver.cpp describes how, step by step.

#include <curl/curl.h>

#include <coroutine>
#include <vector>

#include "trident/aio/event_loop.hpp"
#include "trident/http/session.hpp"

namespace trident::http {

struct transfer;

/// One libcurl multi handle run by the loop: it watches libcurl's sockets and timer, runs the
/// transfers it is given, and schedules the task waiting on each one that ends. It also keeps the
/// session's easy handles for reuse.
///
/// @par Thread safety
/// Loop thread only: made, used and destroyed on the thread running the event loop it was made
/// on. libcurl's callbacks into it only record and schedule; it never resumes a task from inside
/// libcurl.
///
/// @par Destruction
/// Transfers still running are aborted: each is marked done with CURLE_ABORTED_BY_CALLBACK and
/// its task scheduled; they forget the driver (`transfer::owner` becomes null).
class curl_driver {
 public:
  /// Needs a running event loop on this thread. `options` must outlive the driver.
  explicit curl_driver(const session_options& options);
  curl_driver(const curl_driver&) = delete;
  curl_driver& operator=(const curl_driver&) = delete;
  ~curl_driver();

  /// An easy handle with the session's constant options set (reused or new).
  CURL* take_easy();
  /// Keeps `e` for a later request (no curl_easy_reset: `configure` sets every option it uses).
  void give_back(CURL* e) noexcept;

  /// Hands `t` (configured) to libcurl. Throws trident::error.
  void start(transfer& t);
  /// Removes `t` from libcurl, aborting it if unfinished. Assumes libcurl is not on the stack.
  void stop(transfer& t) noexcept;
  /// Schedules the task waiting on `t`, if any (never resumes it here).
  static void notify(transfer& t) noexcept;

  [[nodiscard]] const session_options& options() const noexcept { return options_; }
  /// The header list of requests without headers of their own ("User-Agent: ...").
  [[nodiscard]] curl_slist* default_headers() const noexcept { return default_headers_; }
  [[nodiscard]] session_statistics& statistics() noexcept { return stats_; }

 private:
  struct pump_coro;
  struct curl_timer : aio::lowlevel::timer_node {
    curl_driver* owner = nullptr;
  };

  static pump_coro pump_body();
  void wake() noexcept;
  void unlink(transfer& t) noexcept;
  void finish_done() noexcept;
  void step() noexcept;
  static int on_socket(CURL*, curl_socket_t s, int what, void* userp, void*) noexcept;
  static int on_timer(CURLM*, long timeout_ms, void* userp) noexcept;
  static void on_timer_fired(aio::lowlevel::timer_node* node) noexcept;

  const session_options& options_;
  aio::event_loop* loop_ = nullptr;
  CURLM* multi_ = nullptr;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  aio::lowlevel::io_handle outer_;
  std::coroutine_handle<> pump_;
  curl_driver** pump_owner_ = nullptr;  // the pump's pointer back here, cleared to orphan it
  curl_timer timer_;
  bool timeout_due_ = false;
  bool wake_pending_ = false;
  std::vector<CURL*> spare_;  // easy handles kept for reuse
  curl_slist* default_headers_ = nullptr;
  transfer* active_ = nullptr;
  session_statistics stats_;
};

}  // namespace trident::http
