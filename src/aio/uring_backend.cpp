#include "uring_backend.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

#if defined(TRIDENT_HAVE_URING)
#include <liburing.h>
#include <poll.h>
#endif

// Poll requests and their records
//   Every registered fd has one multishot IORING_OP_POLL_ADD whose user_data is its record
//   (`registration`), never the io_handle itself: completions may still arrive after
//   `remove_io`, when the handle may be gone. `remove` clears the record's handle and submits a
//   POLL_REMOVE; the record is freed by the poll's last completion (the one without
//   IORING_CQE_F_MORE). A multishot poll that the kernel ends on its own (a full completion
//   queue) is armed again. user_data 0 marks completions nobody needs (the removals), 1 the
//   wake-up eventfd; a user_data with bit 1 set is a `completion` (a receive), whose waiter is
//   resumed by its one completion.
//
// Like epoll's edge-triggered mode, a multishot poll reports the readiness found when it is
// armed and then one completion per wake-up of the fd, so io_handle's edge contract holds as is.

namespace trident::aio::detail {

#if defined(TRIDENT_HAVE_URING)

namespace {

constexpr std::uint64_t ignored_user_data = 0;
constexpr std::uint64_t wakeup_user_data = 1;
/// Tag bit of a `completion`'s user_data (records and completions are 8-byte aligned).
constexpr std::uint64_t completion_tag = 2;
/// Tag bit of an `accept_queue`'s user_data.
constexpr std::uint64_t accept_tag = 4;

std::system_error uring_error(int negative_errno, const char* what) {
  return std::system_error(-negative_errno, std::generic_category(), what);
}

}  // namespace

struct uring_backend::ring {
  io_uring r{};
};

const unsigned uring_backend::default_mask = POLLIN | POLLOUT | POLLRDHUP;
const unsigned uring_backend::completion_read_mask = POLLOUT | POLLRDHUP;

struct uring_backend::registration {
  lowlevel::io_handle* io;  // null once removed
  int fd;
  unsigned mask;
  bool armed = false;  // a poll request for it is queued or in the kernel
  registration* prev = nullptr;
  registration* next = nullptr;
};

std::unique_ptr<uring_backend> uring_backend::create(std::string& why) {
  std::unique_ptr<uring_backend> b(new uring_backend());
  b->ring_ = std::make_unique<ring>();
  // A completion queue much larger than the submission queue: one loop step may see a
  // readiness report from thousands of sockets. COOP_TASKRUN: completions are processed when
  // the loop thread enters the kernel anyway, without interrupting it.
  io_uring_params params{};
  params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
  params.cq_entries = 4096;
  int rc = io_uring_queue_init_params(512, &b->ring_->r, &params);
  if (rc == -EINVAL) {  // a kernel before 5.19 knows no COOP_TASKRUN
    params = {};
    params.flags = IORING_SETUP_CQSIZE;
    params.cq_entries = 4096;
    rc = io_uring_queue_init_params(512, &b->ring_->r, &params);
  }
  if (rc < 0) {
    why = std::string("io_uring_queue_init: ") + std::strerror(-rc);
    return nullptr;
  }
  if ((params.features & IORING_FEAT_EXT_ARG) == 0 || (params.features & IORING_FEAT_NODROP) == 0) {
    // Without EXT_ARG a timed wait costs a timeout request and more than one enter per step.
    io_uring_queue_exit(&b->ring_->r);
    why = "io_uring without IORING_FEAT_EXT_ARG and IORING_FEAT_NODROP (kernel before 5.11)";
    return nullptr;
  }
  return b;
}

uring_backend::~uring_backend() {
  // Receives being cancelled whose owners are gone (orphans) are freed by their completions:
  // let those arrive (the kernel cancels a waiting receive at once), within a bound.
  std::vector<ready_event> discarded;
  for (int round = 0; round < 100 && cancelling_ > 0; ++round) {
    discarded.clear();
    try {
      wait(discarded, std::chrono::milliseconds(10));
    } catch (const std::exception&) {
      break;
    }
  }
  io_uring_queue_exit(&ring_->r);  // cancels every request still in the kernel
  release_all();
}

void uring_backend::release_all() noexcept {
  while (registrations_ != nullptr) {
    registration* r = registrations_;
    registrations_ = r->next;
    if (r->io != nullptr) r->io->backend_data = nullptr;
    delete r;
  }
}

io_uring_sqe* uring_backend::next_sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_->r);
  if (sqe == nullptr) {  // the submission queue is full: hand it to the kernel first
    const int rc = io_uring_submit(&ring_->r);
    if (rc < 0) throw uring_error(rc, "io_uring_submit");
    sqe = io_uring_get_sqe(&ring_->r);
    if (sqe == nullptr) throw uring_error(-EBUSY, "io_uring_get_sqe");
  }
  return sqe;
}

void uring_backend::arm(std::uint64_t user_data, int fd, unsigned mask) {
  io_uring_sqe* sqe = next_sqe();
  io_uring_prep_poll_multishot(sqe, fd, mask);
  io_uring_sqe_set_data64(sqe, user_data);
}

void uring_backend::receive(completion& c, int fd, void* buffer, std::size_t len, bool drained) {
  io_uring_sqe* sqe = next_sqe();
  io_uring_prep_recv(sqe, fd, buffer, len, 0);
  if (drained) sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
  io_uring_sqe_set_data64(sqe, reinterpret_cast<std::uint64_t>(&c) | completion_tag);
  c.in_flight = true;
}

void uring_backend::cancel(completion& c, bool now) noexcept {
  if (!c.in_flight || c.cancelling) return;
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_->r);
  if (sqe == nullptr) {
    io_uring_submit(&ring_->r);
    sqe = io_uring_get_sqe(&ring_->r);
    if (sqe == nullptr) return;  // cannot happen after a submit; the receive then completes on its own
  }
  io_uring_prep_cancel64(sqe, reinterpret_cast<std::uint64_t>(&c) | completion_tag, 0);
  io_uring_sqe_set_data64(sqe, ignored_user_data);
  c.cancelling = true;
  ++cancelling_;
  if (now) io_uring_submit(&ring_->r);
}

void uring_backend::accept(accept_queue& q, int listener) {
  io_uring_sqe* sqe = next_sqe();
  io_uring_prep_multishot_accept(sqe, listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, reinterpret_cast<std::uint64_t>(&q) | accept_tag);
  q.armed = true;
  q.error = 0;
}

void uring_backend::cancel(accept_queue& q) noexcept {
  if (!q.armed || q.cancelling) return;
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_->r);
  if (sqe == nullptr) {
    io_uring_submit(&ring_->r);
    sqe = io_uring_get_sqe(&ring_->r);
    if (sqe == nullptr) return;
  }
  io_uring_prep_cancel64(sqe, reinterpret_cast<std::uint64_t>(&q) | accept_tag, 0);
  io_uring_sqe_set_data64(sqe, ignored_user_data);
  q.cancelling = true;
  ++cancelling_;
  io_uring_submit(&ring_->r);
}

void uring_backend::add(lowlevel::io_handle& h, unsigned mask) {
  auto* r = new registration{&h, h.fd, mask};
  try {
    arm(reinterpret_cast<std::uint64_t>(r), h.fd, mask);
  } catch (...) {
    delete r;
    throw;
  }
  r->armed = true;
  r->next = registrations_;
  if (registrations_ != nullptr) registrations_->prev = r;
  registrations_ = r;
  h.backend_data = r;
}

void uring_backend::remove(lowlevel::io_handle& h) noexcept {
  auto* r = static_cast<registration*>(h.backend_data);
  if (r == nullptr) return;
  h.backend_data = nullptr;
  r->io = nullptr;
  if (!r->armed) {  // its poll ended already (failed): nothing in the kernel refers to it
    if (r->prev != nullptr)
      r->prev->next = r->next;
    else
      registrations_ = r->next;
    if (r->next != nullptr) r->next->prev = r->prev;
    delete r;
    return;
  }
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_->r);
  if (sqe == nullptr) {
    io_uring_submit(&ring_->r);
    sqe = io_uring_get_sqe(&ring_->r);
  }
  if (sqe == nullptr) return;  // cannot happen after a submit; the record then lives until the ring ends
  io_uring_prep_poll_remove(sqe, reinterpret_cast<std::uint64_t>(r));
  io_uring_sqe_set_data64(sqe, ignored_user_data);
  // Now, not with the next step: the poll holds a reference to the file, and the caller closes
  // the fd next; the socket must really close then (the peer waits for its end of stream).
  io_uring_submit(&ring_->r);
}

void uring_backend::watch_wakeup(int fd) {
  wake_fd_ = fd;
  arm(wakeup_user_data, fd, POLLIN);
}

void uring_backend::wait(std::vector<ready_event>& out, std::optional<std::chrono::nanoseconds> timeout) {
  io_uring& rg = ring_->r;
  int rc = 0;
  io_uring_cqe* first = nullptr;
  if (timeout && timeout->count() <= 0) {
    // Poll only: one enter if there is something to submit or the kernel holds completions
    // back (overflow, deferred task work), none otherwise.
    if (io_uring_sq_ready(&rg) > 0 || io_uring_cq_has_overflow(&rg) ||
        (IO_URING_READ_ONCE(*rg.sq.kflags) & IORING_SQ_TASKRUN) != 0) {
      rc = io_uring_submit_and_get_events(&rg);
    }
  } else if (timeout) {
    __kernel_timespec ts{};
    ts.tv_sec = static_cast<long long>(timeout->count() / 1'000'000'000);
    ts.tv_nsec = static_cast<long long>(timeout->count() % 1'000'000'000);
    rc = io_uring_submit_and_wait_timeout(&rg, &first, 1, &ts, nullptr);
  } else {
    rc = io_uring_submit_and_wait(&rg, 1);
  }
  if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
    throw uring_error(rc, "io_uring_enter");
  }

  unsigned head = 0;
  unsigned seen = 0;
  io_uring_cqe* cqe = nullptr;
  bool rearm_wakeup = false;
  rearm_.clear();
  io_uring_for_each_cqe(&rg, head, cqe) {
    ++seen;
    const std::uint64_t ud = cqe->user_data;
    const bool more = (cqe->flags & IORING_CQE_F_MORE) != 0;
    if (ud == ignored_user_data) continue;
    if ((ud & accept_tag) != 0) {
      auto* q = reinterpret_cast<accept_queue*>(ud & ~accept_tag);
      if (cqe->res >= 0) q->accepted.push_back(cqe->res);
      if (!more) {
        q->armed = false;
        if (q->cancelling) {
          q->cancelling = false;
          --cancelling_;
        }
        if (q->orphaned) {
          delete q;  // closes what nobody took
          continue;
        }
        if (cqe->res < 0) q->error = -cqe->res;
      }
      if (q->waiter && (!q->accepted.empty() || !q->armed)) {
        out.push_back({nullptr, 0, std::exchange(q->waiter, nullptr)});
      }
      continue;
    }
    if ((ud & completion_tag) != 0) {
      auto* c = reinterpret_cast<completion*>(ud & ~completion_tag);
      if (c->cancelling) {
        c->cancelling = false;
        --cancelling_;
      }
      if (c->orphaned) {
        delete c;
        continue;
      }
      c->result = cqe->res;
      c->in_flight = false;
      out.push_back({nullptr, 0, c->waiter});
      continue;
    }
    if (ud == wakeup_user_data) {
      if (cqe->res >= 0) out.push_back({nullptr, 0});
      if (!more) rearm_wakeup = true;
      continue;
    }
    auto* r = reinterpret_cast<registration*>(ud);
    if (r->io == nullptr) {  // removed: only its last completion matters, to free the record
      if (!more) {
        if (r->prev != nullptr)
          r->prev->next = r->next;
        else
          registrations_ = r->next;
        if (r->next != nullptr) r->next->prev = r->prev;
        delete r;
      }
      continue;
    }
    if (cqe->res >= 0) {
      out.push_back({r->io, static_cast<std::uint32_t>(cqe->res)});
      if (!more) rearm_.push_back(r);  // armed again once the queue is walked
    } else if (!more) {
      // The poll failed (the fd is no longer pollable): waiters wake up and find the error.
      r->armed = false;
      out.push_back({r->io, EPOLLERR | EPOLLHUP});
    }
  }
  io_uring_cq_advance(&rg, seen);
  if (rearm_wakeup) arm(wakeup_user_data, wake_fd_, POLLIN);
  for (registration* r : rearm_) arm(reinterpret_cast<std::uint64_t>(r), r->fd, r->mask);
}

#else  // built without liburing

void uring_backend::accept(accept_queue&, int) {}
void uring_backend::cancel(accept_queue&) noexcept {}

struct uring_backend::ring {};
struct uring_backend::registration {};
const unsigned uring_backend::default_mask = 0;
const unsigned uring_backend::completion_read_mask = 0;

std::unique_ptr<uring_backend> uring_backend::create(std::string& why) {
  why = "built without liburing (pkg-config liburing was not found at configure time)";
  return nullptr;
}

uring_backend::~uring_backend() = default;
void uring_backend::release_all() noexcept {}
void uring_backend::arm(std::uint64_t, int, unsigned) {}
void uring_backend::add(lowlevel::io_handle&, unsigned) {}
void uring_backend::receive(completion&, int, void*, std::size_t, bool) {}
void uring_backend::cancel(completion&, bool) noexcept {}
void uring_backend::remove(lowlevel::io_handle&) noexcept {}
void uring_backend::watch_wakeup(int) {}
void uring_backend::wait(std::vector<ready_event>&, std::optional<std::chrono::nanoseconds>) {}

#endif

accept_queue::~accept_queue() {
  for (const int fd : accepted) ::close(fd);
}

}  // namespace trident::aio::detail
