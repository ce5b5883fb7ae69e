#pragma once
// The io_uring backend of the event loop (private to src/aio): readiness of registered fds
// through multishot poll requests, the cross-thread wake-up eventfd polled the same way, and
// one io_uring_enter per loop step that submits every queued request and waits.

#include <sys/epoll.h>

#include <chrono>
#include <coroutine>
#include <deque>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "trident/aio/lowlevel/io_handle.hpp"

struct io_uring_sqe;

namespace trident::aio::detail {

/// One report of a step: a completed request's coroutine to resume (`resume`), or readiness
/// of `io` (null for the wake-up eventfd) with `events` in epoll's bits.
struct ready_event {
  lowlevel::io_handle* io;
  std::uint32_t events;
  std::coroutine_handle<> resume = nullptr;
};

/// A completion-based request (a receive into the caller's buffer) and its outcome. Owned by
/// the awaiter of the request, which must stay suspended until `in_flight` is false again: the
/// kernel writes into the buffer until then, and the completion names this object.
struct completion {
  std::coroutine_handle<> waiter;  ///< Resumed when the completion arrives.
  int result = 0;                  ///< The request's result: bytes, or -errno.
  bool in_flight = false;
  bool cancelling = false;  ///< The backend's: a cancellation was submitted for it.
  /// Its owner is gone while it is in flight: the backend deletes it (and `orphan_buffer`, the
  /// memory the kernel may still write into) when its completion arrives, resuming nobody.
  bool orphaned = false;
  std::unique_ptr<char[]> orphan_buffer;
};

/// A multishot accept on a listening socket (IORING_OP_ACCEPT with IORING_ACCEPT_MULTISHOT):
/// every connection the kernel accepts lands in `accepted`, and `waiter` (if set) is resumed.
/// Owned by the listener; a listener that goes while it is armed marks it `orphaned`, and the
/// backend deletes it, closing the sockets nobody took, when its last completion arrives.
struct accept_queue {
  std::deque<int> accepted;        ///< Accepted sockets not taken yet (non-blocking, close-on-exec).
  int error = 0;                   ///< The errno that ended the request, once it ended.
  std::coroutine_handle<> waiter;  ///< Resumed (and cleared) when a socket or an error comes.
  bool armed = false;              ///< The request is in the kernel (or queued for it).
  bool cancelling = false;         ///< The backend's: a cancellation was submitted for it.
  bool orphaned = false;
  ~accept_queue();
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

  /// The default poll mask of `add`: readable, writable, peer's end.
  static const unsigned default_mask;
  /// The mask for a socket whose reads are completion requests (`receive`): writable and
  /// peer's end only, so arriving data makes one completion, not a readiness report besides.
  static const unsigned completion_read_mask;

  /// Polls `h.fd` for `mask` (POLLIN, POLLOUT, POLLRDHUP) until `remove` (the loop's
  /// `add_io` and `remove_io` call these; the caller sets `h.loop`). Throws std::system_error.
  void add(lowlevel::io_handle& h, unsigned mask = default_mask);
  /// Stops polling `h.fd`. The ring lets go of the file before this returns, so closing the
  /// fd right after closes the socket at once.
  void remove(lowlevel::io_handle& h) noexcept;
  /// Queues a receive of up to `len` bytes from `fd` into `buffer`; `c.waiter` is resumed when
  /// it completes, with `c.result` set. `drained`: the socket was found empty, so the kernel
  /// waits for data before trying (IORING_RECVSEND_POLL_FIRST). Throws std::system_error.
  void receive(completion& c, int fd, void* buffer, std::size_t len, bool drained);
  /// Asks the kernel to cancel `c` (in flight). Its waiter is still resumed only by the
  /// completion, which says -ECANCELED, or the bytes received if the data came first.
  /// `now`: submitted at once instead of with the next step.
  void cancel(completion& c, bool now) noexcept;

  /// Arms a multishot accept of `listener` into `q`. Throws std::system_error.
  void accept(accept_queue& q, int listener);
  /// Cancels `q`'s request if armed, submitted at once (the listening socket then closes when
  /// its fd does). Its last completion still comes; `q` must live until then or be orphaned.
  void cancel(accept_queue& q) noexcept;

  /// Requests cancelled and not completed yet: their waiters will be resumed soon, so a loop
  /// winding down waits for them.
  [[nodiscard]] std::size_t cancellations_pending() const noexcept { return cancelling_; }

  /// Polls the loop's wake-up eventfd (reported as a `ready_event` with a null `io`).
  void watch_wakeup(int fd);

  /// Submits what is queued and waits up to `timeout` (nullopt: until something happens; zero:
  /// not at all) for readiness, appended to `out`. Throws std::system_error.
  void wait(std::vector<ready_event>& out, std::optional<std::chrono::nanoseconds> timeout);

  struct registration;
  struct ring;

 private:
  uring_backend() = default;
  void arm(std::uint64_t user_data, int fd, unsigned mask);
  ::io_uring_sqe* next_sqe();
  void release_all() noexcept;

  std::unique_ptr<ring> ring_;
  registration* registrations_ = nullptr;  // intrusive list: every poll request's record
  std::vector<registration*> rearm_;       // multishot polls the kernel ended, during `wait`
  int wake_fd_ = -1;
  std::size_t cancelling_ = 0;
};

/// The io_uring backend of the loop running on this thread, or null (no loop, or one on epoll).
[[nodiscard]] uring_backend* running_uring_backend() noexcept;

}  // namespace trident::aio::detail
