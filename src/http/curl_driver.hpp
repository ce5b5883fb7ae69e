#pragma once
/// @file
/// Private to the http layer (it includes libcurl): `curl_driver`, libcurl's multi-socket
/// interface plugged into the event loop. curl_driver.cpp describes how, step by step.

#include <curl/curl.h>

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <vector>

#include "trident/aio/event_loop.hpp"
#include "trident/http/session.hpp"

namespace trident::http {

struct transfer;

/// A driver's counters. Written only by the driver's loop thread; read from any thread (a
/// session with several loops adds up the counters of all of them), so each is an atomic that
/// its one writer updates with a plain load and store.
class driver_counters {
 public:
  void count_request() noexcept {
    bump(requests_, 1);
    bump(active_, 1);
  }
  void count_end() noexcept { active_.store(active_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed); }
  void count_body_bytes(std::uint64_t n) noexcept { bump(body_bytes_, n); }
  void count_retry() noexcept { bump(retries_, 1); }
  /// Adds this driver's counters to `total`. Thread safe.
  void add_to(session_statistics& total) const noexcept {
    total.requests += requests_.load(std::memory_order_relaxed);
    total.active += active_.load(std::memory_order_relaxed);
    total.body_bytes += body_bytes_.load(std::memory_order_relaxed);
    total.retries += retries_.load(std::memory_order_relaxed);
  }

 private:
  static void bump(std::atomic<std::uint64_t>& c, std::uint64_t by) noexcept {
    c.store(c.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
  }
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> active_{0};
  std::atomic<std::uint64_t> body_bytes_{0};
  std::atomic<std::uint64_t> retries_{0};
};

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
  [[nodiscard]] driver_counters& counters() noexcept { return counters_; }

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
  driver_counters counters_;
};

}  // namespace trident::http
