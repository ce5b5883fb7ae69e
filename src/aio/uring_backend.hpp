#pragma once
// The io_uring backend of the event loop (private to src/aio): readiness of registered fds
// through multishot poll requests, the cross-thread wake-up eventfd polled the same way, and
// one io_uring_enter per loop step that submits every queued request and waits.

#include <sys/epoll.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "trident/aio/lowlevel/io_handle.hpp"

namespace trident::aio::detail {

/// One readiness report: `io` null for the wake-up eventfd; `events` in epoll's bits.
struct ready_event {
  lowlevel::io_handle* io;
  std::uint32_t events;
};

/// Loop thread only (the loop that owns it).
class uring_backend {
 public:
  /// A ring, or null with `why` saying why none could be made (built without liburing, the
  /// kernel refuses io_uring_setup: seccomp, io_uring_disabled, an old kernel).
  static std::unique_ptr<uring_backend> create(std::string& why);

  uring_backend(const uring_backend&) = delete;
  uring_backend& operator=(const uring_backend&) = delete;
  ~uring_backend();

  /// Polls `h.fd` for reading and writing until `remove`. Throws std::system_error.
  void add(lowlevel::io_handle& h);
  /// Stops polling `h.fd`. The ring lets go of the file before this returns, so closing the
  /// fd right after closes the socket at once.
  void remove(lowlevel::io_handle& h) noexcept;
  /// Polls the loop's wake-up eventfd (reported as a `ready_event` with a null `io`).
  void watch_wakeup(int fd);

  /// Submits what is queued and waits up to `timeout` (nullopt: until something happens; zero:
  /// not at all) for readiness, appended to `out`. Throws std::system_error.
  void wait(std::vector<ready_event>& out, std::optional<std::chrono::nanoseconds> timeout);

  struct registration;
  struct ring;

 private:
  uring_backend() = default;
  void arm(std::uint64_t user_data, int fd);
  void release_all() noexcept;

  std::unique_ptr<ring> ring_;
  registration* registrations_ = nullptr;  // intrusive list: every poll request's record
  std::vector<registration*> rearm_;       // multishot polls the kernel ended, during `wait`
  int wake_fd_ = -1;
};

}  // namespace trident::aio::detail
