#pragma once
/// @file
/// Private to the http layer (it includes libcurl, which stays out of the public headers): one
/// attempt of one request on one libcurl easy handle, the callbacks through which libcurl fills
/// it, and the awaitable a request's task waits on. transfer.cpp implements it.

#include <curl/curl.h>

#include <array>
#include <coroutine>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "trident/aio/event_loop.hpp"
#include "trident/core/atomic_file.hpp"
#include "trident/http/errors.hpp"
#include "trident/http/request.hpp"
#include "trident/http/response.hpp"
#include "trident/http/session.hpp"

namespace trident::http {

class curl_driver;

namespace detail {
/// One header line as libcurl hands it over (a status line, a `Name: value` line or the blank
/// line; CR LF included), added to `headers`: a status line starts a new response (after a
/// redirect or a 100 Continue) and empties them, a line without a name is ignored. The
/// response's headers are bytes from the server; this reads them. Throws std::bad_alloc only.
void read_header_line(std::string_view line, response::header_list& headers);
}  // namespace detail

/// Where a transfer's body goes.
enum class sink_mode {
  memory,  ///< into `transfer::body`, handed out whole
  fd,      ///< written to a file descriptor as it arrives
  stream,  ///< into `transfer::body`, handed out chunk by chunk (body_stream), with back-pressure
};

struct sink_spec {
  sink_mode mode = sink_mode::memory;
  int fd = -1;
  /// fd mode: the file of save_to, emptied before a retry (else bytes written stay written).
  atomic_file* file = nullptr;
  std::size_t high_water = 0;
};

/// One attempt of one request. Lives in the requesting coroutine's frame (or in a body_stream);
/// its curl_driver links it while libcurl runs it. Loop thread only.
struct transfer {
  curl_driver* owner = nullptr;  // null once the session is gone
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::array<char, CURL_ERROR_SIZE> errbuf{};

  sink_mode mode = sink_mode::memory;
  std::string body;  // memory: the body; stream: received, not yet handed out
  int fd = -1;
  int write_errno = 0;
  std::uint64_t received = 0;
  std::uint64_t max_body = 0;
  bool too_large = false;
  bool discarding = false;  // fd mode: a 4xx/5xx body is not written
  bool status_checked = false;
  std::size_t high_water = 0;
  bool paused = false;
  bool has_data = false;  // stream: the first body bytes (so status and headers) are in
  // A copy, not a pointer into the request: a body_stream's transfer outlives the coroutine
  // that configured it.
  std::function<void(std::size_t)> on_bytes;
  std::function<void(std::int64_t)> on_body_start;
  bool body_started = false;
  response::header_list response_headers;

  bool active = false;  // added to the multi handle
  bool done = false;
  CURLcode result = CURLE_OK;
  std::coroutine_handle<> waiter;
  const aio::lowlevel::task_context* context = nullptr;
  transfer* prev = nullptr;  // the driver's list of active transfers
  transfer* next = nullptr;

  transfer() = default;
  transfer(const transfer&) = delete;
  transfer& operator=(const transfer&) = delete;
  /// Removes the transfer from libcurl if it still runs and returns its easy handle to the pool.
  ~transfer();
};

/// Options that are the same for every request of a session: set once per easy handle (several
/// copy or parse a string in libcurl, which would cost allocations on every request).
void set_constant_options(CURL* e, const session_options& options) noexcept;

/// Takes an easy handle from `driver` and sets every per-request option on it (all of them, every
/// time: handles are reused without curl_easy_reset). `o` has every field set. Throws
/// std::bad_alloc or trident::error.
void configure(curl_driver& driver, transfer& t, const request& req, const request_options& o, const std::string& url,
               const sink_spec& sink);

/// The response of a finished (or, in stream mode, started) transfer.
response make_response(transfer& t, std::string body);

/// The error of a failed transfer: the reason Trident saw (too large, write error, session gone)
/// first, then libcurl's.
transfer_error make_error(const transfer& t, const std::string& url);

/// Empties the file of a failed attempt so that the next one starts from byte 0. False when it
/// cannot (then the failure stands).
bool rewind(const sink_spec& sink) noexcept;

/// Suspends until the transfer is done or (`until_data`, stream mode) has data.
///
/// @par Cancellation
/// A cancellation point: cancelling removes the transfer from libcurl at once (its connection is
/// closed) and resumes the task with cancelled_error.
class transfer_wait : private aio::lowlevel::cancellable_wait {
 public:
  transfer_wait(transfer& t, bool until_data) noexcept : t_(t), until_data_(until_data) {}
  bool await_ready() const noexcept { return t_.done || (until_data_ && !t_.body.empty()); }
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    if (bind(h)) return false;
    t_.waiter = h;
    t_.context = context_;
    arm(&on_cancel, this);
    return true;
  }
  void await_resume() { end_wait("cancelled while waiting for an HTTP transfer"); }

 private:
  static void on_cancel(void* arg) noexcept;
  transfer& t_;
  bool until_data_;
};

}  // namespace trident::http
