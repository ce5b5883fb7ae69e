#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cerrno>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "trident/aio/lowlevel/io_wait.hpp"
#include "trident/aio/event_loop.hpp"
#include "trident/aio/run_in.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/aio/tcp_server.hpp"
#include "trident/aio/tcp_stream.hpp"
#include "trident/aio/timeout.hpp"
#include "uring_backend.hpp"

namespace trident::aio {

namespace {

std::system_error socket_error(int code, std::string_view what) {
  return std::system_error(code, std::generic_category(), std::string(what));
}

void make_non_blocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) throw socket_error(errno, "fcntl(O_NONBLOCK)");
}

std::string format_address(const sockaddr_storage& a) {
  char host[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(a);
    ::inet_ntop(AF_INET6, &v6.sin6_addr, host, sizeof host);
    return fmt::format("[{}]:{}", host, ntohs(v6.sin6_port));
  }
  const auto& v4 = reinterpret_cast<const sockaddr_in&>(a);
  ::inet_ntop(AF_INET, &v4.sin_addr, host, sizeof host);
  return fmt::format("{}:{}", host, ntohs(v4.sin_port));
}

struct resolved {
  std::vector<sockaddr_storage> addresses;
  std::vector<socklen_t> lengths;
};

resolved resolve(const std::string& host, std::uint16_t port, bool numeric_only, bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = (numeric_only ? AI_NUMERICHOST : 0) | (passive ? AI_PASSIVE : 0) | AI_NUMERICSERV;
  addrinfo* list = nullptr;
  const std::string service = std::to_string(port);
  const int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &list);
  if (rc != 0) {
    if (numeric_only && rc == EAI_NONAME) return {};
    throw std::system_error(std::make_error_code(std::errc::host_unreachable),
                            fmt::format("cannot resolve '{}': {}", host, ::gai_strerror(rc)));
  }
  resolved out;
  for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    sockaddr_storage s{};
    std::memcpy(&s, ai->ai_addr, ai->ai_addrlen);
    out.addresses.push_back(s);
    out.lengths.push_back(static_cast<socklen_t>(ai->ai_addrlen));
  }
  ::freeaddrinfo(list);
  return out;
}

}  // namespace

incomplete_read_error::incomplete_read_error(std::string partial, std::size_t expected)
    : error(fmt::format("connection closed after {} of {} expected bytes", partial.size(), expected)),
      partial_(std::move(partial)),
      expected_(expected) {}

// ---------------------------------------------------------------------------------------------
// tcp_stream

namespace {

/// Received bytes not yet consumed: [head, tail) of one allocation that is reused, so a read
/// neither zero-fills nor shifts memory on every call.
class receive_buffer {
 public:
  [[nodiscard]] std::size_t size() const noexcept { return tail_ - head_; }
  [[nodiscard]] bool empty() const noexcept { return head_ == tail_; }
  [[nodiscard]] std::string_view view() const noexcept { return {data_.get() + head_, size()}; }

  /// Removes and returns the first `n` bytes (n <= size()).
  std::string take(std::size_t n) {
    std::string out(data_.get() + head_, n);
    head_ += n;
    if (head_ == tail_) head_ = tail_ = 0;
    return out;
  }
  std::string take_all() { return take(size()); }

  /// Free space of at least `min_free` bytes after the data, moving or growing as needed.
  std::span<char> prepare(std::size_t min_free) {
    if (capacity_ - tail_ < min_free) {
      if (head_ > 0 && capacity_ - size() >= min_free) {
        std::memmove(data_.get(), data_.get() + head_, size());
      } else {
        const std::size_t capacity = std::max(capacity_ * 2, size() + min_free);
        auto bigger = std::make_unique_for_overwrite<char[]>(capacity);
        if (!empty()) std::memcpy(bigger.get(), data_.get() + head_, size());
        data_ = std::move(bigger);
        capacity_ = capacity;
      }
      tail_ -= head_;
      head_ = 0;
    }
    return {data_.get() + tail_, capacity_ - tail_};
  }
  /// `n` bytes were written into the space `prepare` gave.
  void commit(std::size_t n) noexcept { tail_ += n; }

  /// Gives up the allocation (the buffer is empty afterwards).
  std::unique_ptr<char[]> release_storage() noexcept {
    capacity_ = head_ = tail_ = 0;
    return std::move(data_);
  }

 private:
  std::unique_ptr<char[]> data_;
  std::size_t capacity_ = 0;
  std::size_t head_ = 0;
  std::size_t tail_ = 0;
};

/// On the io_uring backend: a receive handed to the kernel (IORING_OP_RECV) into the free space
/// of the receive buffer, instead of waiting for readiness and calling recv. Resumes with the
/// bytes received (committed to the buffer here), 0 at the end of the stream, or -errno.
/// Cancelling asks the kernel to cancel the receive, and the coroutine resumes only when its
/// completion arrives: the kernel writes into the buffer until then. Bytes that arrived first
/// stay in the buffer for the next read, and `cancelled_error` is raised.
class uring_receive : private lowlevel::cancellable_wait {
 public:
  uring_receive(detail::uring_backend& uring, detail::completion& op, int fd, receive_buffer& in,
                std::span<char> space) noexcept
      : uring_(uring), op_(op), fd_(fd), in_(in), space_(space) {}

  bool await_ready() const noexcept { return false; }

  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    op_.result = -ECANCELED;
    if (bind(h)) return false;
    op_.waiter = h;
    uring_.receive(op_, fd_, space_.data(), space_.size(), true);
    arm(&on_cancel, this);
    return true;
  }

  int await_resume() {
    const int n = op_.result;
    if (n > 0) in_.commit(static_cast<std::size_t>(n));
    end_wait("cancelled while receiving from a socket");
    return n;
  }

 private:
  static void on_cancel(void* arg) noexcept {
    auto* self = static_cast<uring_receive*>(arg);
    self->uring_.cancel(self->op_, false);  // nothing if it completed already
  }

  detail::uring_backend& uring_;
  detail::completion& op_;
  int fd_;
  receive_buffer& in_;
  std::span<char> space_;
};

}  // namespace

struct tcp_stream::state {
  lowlevel::io_handle io;
  event_loop* loop = nullptr;
  detail::uring_backend* uring = nullptr;          // set on the io_uring backend: reads are receive requests
  std::unique_ptr<detail::completion> receive_op;  // the receive in flight, on io_uring
  receive_buffer in;                               // received, not yet consumed
  bool drained = false;                            // the last receive emptied the socket: wait before the next one
  std::string out;                                 // queued, not yet sent (from out_sent on)
  std::size_t out_sent = 0;
  bool eof = false;

  ~state() {
    close();
    // Destroyed while its reader is still suspended in a receive (the reader outlived the
    // stream): the completion and the buffer the kernel may still write into go to the
    // backend, which frees them when the completion arrives and resumes nobody.
    if (receive_op && receive_op->in_flight) {
      receive_op->orphan_buffer = in.release_storage();
      receive_op->orphaned = true;
      (void)receive_op.release();
    }
  }

  void close() noexcept {
    if (io.fd < 0) return;
    // A receive in flight holds the socket open and writes into `in`: cancelled now, its
    // reader resumes when the completion comes and finds the stream closed.
    if (receive_op) uring->cancel(*receive_op, false);  // submitted by remove_io
    loop->remove_io(io);
    ::close(io.fd);
    io.fd = -1;
    // A task waiting to read or write wakes up and finds the stream closed.
    if (auto h = std::exchange(io.reader, nullptr)) loop->schedule(h);
    if (auto h = std::exchange(io.writer, nullptr)) loop->schedule(h);
  }

  /// Sends what the kernel takes now. Returns false if it would block with bytes left.
  bool flush() {
    while (out_sent < out.size()) {
      const ssize_t n = ::send(io.fd, out.data() + out_sent, out.size() - out_sent, MSG_NOSIGNAL);
      if (n > 0) {
        out_sent += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
      throw socket_error(errno, "send to " + peer());
    }
    out.clear();
    out_sent = 0;
    return true;
  }

  std::string peer() const {
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    if (io.fd < 0 || ::getpeername(io.fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return "(closed)";
    return format_address(a);
  }
};

tcp_stream::tcp_stream() noexcept = default;

tcp_stream::tcp_stream(int fd) : state_(std::make_unique<state>()) {
  state_->loop = &event_loop::running();
  try {
    make_non_blocking(fd);
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    state_->io.fd = fd;
    if (detail::uring_backend* uring = detail::running_uring_backend()) {
      uring->add(state_->io, detail::uring_backend::completion_read_mask);
      state_->io.loop = state_->loop;
      state_->uring = uring;
      state_->receive_op = std::make_unique<detail::completion>();
    } else {
      state_->loop->add_io(state_->io);
    }
  } catch (...) {
    state_->io.fd = -1;
    ::close(fd);
    throw;
  }
}

tcp_stream::tcp_stream(tcp_stream&&) noexcept = default;
tcp_stream& tcp_stream::operator=(tcp_stream&&) noexcept = default;
tcp_stream::~tcp_stream() = default;

tcp_stream::state& tcp_stream::checked() const {
  if (!state_ || state_->io.fd < 0) throw std::logic_error("tcp_stream is closed");
  return *state_;
}

task<bool> tcp_stream::fill(std::size_t want) {
  state& s = checked();
  if (s.eof) co_return false;
  for (;;) {
    ssize_t n = 0;
    int error = 0;
    std::span<char> space;
    if (s.drained && s.uring != nullptr) {
      space = s.in.prepare(std::max<std::size_t>(want, 16 * 1024));
      uring_receive receive(*s.uring, *s.receive_op, s.io.fd, s.in, space);
      const int got = co_await receive;  // committed to s.in already
      if (!state_ || state_->io.fd < 0) throw std::logic_error("tcp_stream closed while reading");
      n = got;
      if (got < 0) {
        error = -got;
        n = -1;
      }
    } else {
      if (s.drained) {
        co_await lowlevel::io_wait(s.io, false);
        if (!state_ || state_->io.fd < 0) throw std::logic_error("tcp_stream closed while reading");
      }
      space = s.in.prepare(std::max<std::size_t>(want, 16 * 1024));
      n = ::recv(s.io.fd, space.data(), space.size(), 0);
      if (n < 0) error = errno;
      if (n > 0) s.in.commit(static_cast<std::size_t>(n));
    }
    if (n > 0) {
      // A stream socket that returns less than asked has nothing more right now — unless the
      // peer's end (or an error) came with the same edge: the next receive reports it.
      s.drained = static_cast<std::size_t>(n) < space.size() && !s.io.hangup;
      co_return true;
    }
    if (n == 0) {
      s.eof = true;
      co_return false;
    }
    if (error == EINTR) continue;
    if (error != EAGAIN && error != EWOULDBLOCK) throw socket_error(error, "receive from " + s.peer());
    s.drained = true;
  }
}

task<std::string> tcp_stream::read(std::size_t max) {
  state& s = checked();
  if (s.in.empty() && !co_await fill(max)) co_return std::string();
  co_return s.in.take(std::min(max, s.in.size()));
}

task<std::string> tcp_stream::read_exactly(std::size_t n) {
  state& s = checked();
  while (s.in.size() < n) {
    if (!co_await fill(n - s.in.size())) throw incomplete_read_error(s.in.take_all(), n);
  }
  co_return s.in.take(n);
}

task<std::string> tcp_stream::read_until(std::string_view delimiter, std::size_t limit) {
  if (delimiter.empty()) throw std::invalid_argument("read_until needs a non-empty delimiter");
  state& s = checked();
  std::size_t searched = 0;
  for (;;) {
    const auto at = s.in.view().find(delimiter, searched);
    if (at != std::string_view::npos) {
      const std::size_t n = at + delimiter.size();
      if (n > limit) throw limit_overrun_error(fmt::format("no delimiter within {} bytes", limit));
      co_return s.in.take(n);
    }
    if (s.in.size() > limit) throw limit_overrun_error(fmt::format("no delimiter within {} bytes", limit));
    searched = s.in.size() >= delimiter.size() ? s.in.size() - delimiter.size() + 1 : 0;
    if (!co_await fill(16 * 1024)) {
      std::string partial = s.in.take_all();
      const std::size_t expected = partial.size() + delimiter.size();
      throw incomplete_read_error(std::move(partial), expected);
    }
  }
}

void tcp_stream::write(std::string_view data) {
  state& s = checked();
  s.out.append(data);
  s.flush();
}

task<void> tcp_stream::drain() {
  state& s = checked();
  while (!s.flush()) {
    co_await lowlevel::io_wait(s.io, true);
    if (!state_ || state_->io.fd < 0) throw std::logic_error("tcp_stream closed while draining");
  }
}

std::size_t tcp_stream::write_buffer_size() const noexcept {
  return state_ ? state_->out.size() - state_->out_sent : 0;
}

void tcp_stream::shutdown_write() {
  state& s = checked();
  if (::shutdown(s.io.fd, SHUT_WR) != 0) throw socket_error(errno, "shutdown(SHUT_WR)");
}

void tcp_stream::close() noexcept {
  if (state_) state_->close();
}

bool tcp_stream::is_open() const noexcept { return state_ && state_->io.fd >= 0; }

std::string tcp_stream::peer_address() const { return checked().peer(); }

// ---------------------------------------------------------------------------------------------
// open_connection

task<tcp_stream> tcp_stream::connect_to(const void* address_bytes, unsigned length) {
  sockaddr_storage address{};
  std::memcpy(&address, address_bytes, length);
  const std::string where = format_address(address);
  const int fd = ::socket(address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw socket_error(errno, "socket for " + where);
  tcp_stream stream(fd);  // owns fd from here
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), length) != 0) {
    if (errno != EINPROGRESS) throw socket_error(errno, "connect to " + where);
    // Writable means connected or failed; SO_ERROR tells which.
    co_await lowlevel::io_wait(stream.state_->io, true);
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) throw socket_error(err, "connect to " + where);
  }
  co_return stream;
}

namespace {

task<resolved> resolve_async(std::string host, std::uint16_t port) {
  resolved numeric = resolve(host, port, true, false);
  if (!numeric.addresses.empty()) co_return numeric;
  // A name: getaddrinfo blocks (DNS), so it runs on a thread while the loop goes on.
  co_return co_await to_thread([host, port] { return resolve(host, port, false, false); });
}

}  // namespace

task<tcp_stream> tcp_stream::connect_any(std::string host, std::uint16_t port) {
  const resolved where = co_await resolve_async(host, port);
  if (where.addresses.empty())
    throw std::system_error(std::make_error_code(std::errc::host_unreachable), "no address for '" + host + "'");
  std::exception_ptr last;
  for (std::size_t i = 0; i < where.addresses.size(); ++i) {
    try {
      co_return co_await tcp_stream::connect_to(&where.addresses[i], where.lengths[i]);
    } catch (const cancelled_error&) {
      throw;
    } catch (...) {
      last = std::current_exception();  // try the next address
    }
  }
  std::rethrow_exception(last);
}

task<tcp_stream> open_connection(std::string host, std::uint16_t port, std::chrono::milliseconds timeout) {
  co_return co_await wait_for(tcp_stream::connect_any(std::move(host), port), timeout);
}

// ---------------------------------------------------------------------------------------------
// start_server

namespace {

/// On the io_uring backend: waits until the listener's multishot accept queued a connection or
/// ended. A cancellation point that owns nothing in flight: cancelling unhooks the waiter.
class accept_wait : private lowlevel::cancellable_wait {
 public:
  accept_wait(detail::accept_queue& q, event_loop& loop) noexcept : q_(q), loop_(loop) {}

  bool await_ready() const noexcept { return false; }

  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    if (bind(h)) return false;
    waiter_ = h;
    q_.waiter = h;
    arm(&on_cancel, this);
    return true;
  }

  void await_resume() { end_wait("cancelled while accepting connections"); }

 private:
  static void on_cancel(void* arg) noexcept {
    auto* self = static_cast<accept_wait*>(arg);
    if (self->q_.waiter == self->waiter_) {
      self->q_.waiter = nullptr;
      self->loop_.schedule(self->waiter_, self->context_);
    }
  }

  detail::accept_queue& q_;
  event_loop& loop_;
  std::coroutine_handle<> waiter_;
};

}  // namespace

struct tcp_server::state {
  lowlevel::io_handle io;
  event_loop* loop = nullptr;
  std::uint16_t port = 0;
  std::uint64_t accepted = 0;
  std::shared_ptr<handler> serve;
  task_handle<void> accept_loop;
  // On the io_uring backend: the listener's multishot accept and what it accepted (the
  // listener is then not polled for readiness at all).
  detail::uring_backend* uring = nullptr;
  std::unique_ptr<detail::accept_queue> accepts;

  ~state() {
    close();
    // Its accept request is still being cancelled: the backend frees the queue (closing the
    // sockets nobody took) when the request's last completion comes.
    if (accepts && accepts->armed) {
      accepts->waiter = nullptr;
      accepts->orphaned = true;
      (void)accepts.release();
    }
  }
  void close() noexcept {
    if (accept_loop.valid() && !accept_loop.done()) accept_loop.cancel();
    if (io.fd < 0) return;
    if (accepts) uring->cancel(*accepts);  // submitted now: the listening socket closes below
    loop->remove_io(io);
    ::close(io.fd);
    io.fd = -1;
  }
};

task<void> tcp_server::serve_connection(std::shared_ptr<handler> serve, tcp_stream stream) {
  co_await (*serve)(std::move(stream));
}

// The state cancels this loop when it goes.
task<void> tcp_server::accept_connections(std::weak_ptr<state> weak) {
  for (;;) {
    auto s = weak.lock();
    if (!s || s->io.fd < 0) co_return;
    int fd = -1;
    int error = 0;
    if (s->accepts) {
      detail::accept_queue& q = *s->accepts;
      if (!q.accepted.empty()) {
        fd = q.accepted.front();
        q.accepted.pop_front();
      } else if (q.error != 0) {
        error = std::exchange(q.error, 0);
      } else {
        if (!q.armed) s->uring->accept(q, s->io.fd);
        event_loop& loop = *s->loop;
        s.reset();  // do not keep the server alive while waiting
        accept_wait arrival(q, loop);
        co_await arrival;
        continue;
      }
    } else {
      fd = ::accept4(s->io.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) error = errno;
    }
    if (fd >= 0) {
      ++s->accepted;
      try {
        spawn(*s->loop, serve_connection(s->serve, tcp_stream(fd)), "connection");
      } catch (const std::exception& e) {
        std::fprintf(stderr, "trident: cannot serve a connection: %s\n", e.what());
      }
      continue;
    }
    if (error == EINTR || error == ECONNABORTED || error == ECANCELED) continue;
    if (error == EMFILE || error == ENFILE) {
      // Out of descriptors: pending connections wait in the backlog until some are closed.
      std::fprintf(stderr, "trident: accept: %s; retrying\n", std::strerror(error));
      s.reset();
      co_await sleep(std::chrono::milliseconds(50));
      continue;
    }
    if (error != EAGAIN && error != EWOULDBLOCK) throw socket_error(error, "accept");
    lowlevel::io_handle& io = s->io;
    s.reset();  // do not keep the server alive while waiting
    co_await lowlevel::io_wait(io, false);
  }
}

tcp_server::tcp_server(std::shared_ptr<state> s) noexcept : state_(std::move(s)) {}
tcp_server::tcp_server(tcp_server&&) noexcept = default;
tcp_server& tcp_server::operator=(tcp_server&&) noexcept = default;
tcp_server::~tcp_server() {
  if (state_) state_->close();
}
std::uint16_t tcp_server::port() const noexcept { return state_ ? state_->port : 0; }
std::uint64_t tcp_server::accepted() const noexcept { return state_ ? state_->accepted : 0; }
void tcp_server::close() noexcept {
  if (state_) state_->close();
}

task<tcp_server> start_server(tcp_server::handler serve, std::string host, std::uint16_t port, int backlog) {
  if (!serve) throw std::invalid_argument("start_server needs a handler");
  const resolved where = resolve(host, port, true, true);
  if (where.addresses.empty()) throw std::invalid_argument("start_server needs a numeric address, not '" + host + "'");
  const sockaddr_storage& address = where.addresses.front();
  const int fd = ::socket(address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw socket_error(errno, "socket");
  auto s = std::make_shared<tcp_server::state>();
  s->loop = &event_loop::running();
  s->serve = std::make_shared<tcp_server::handler>(std::move(serve));
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), where.lengths.front()) != 0) {
    const int e = errno;
    ::close(fd);
    throw socket_error(e, "bind " + format_address(address));
  }
  if (::listen(fd, backlog) != 0) {
    const int e = errno;
    ::close(fd);
    throw socket_error(e, "listen on " + format_address(address));
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  s->port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(bound).sin6_port
                                              : reinterpret_cast<sockaddr_in&>(bound).sin_port);
  s->io.fd = fd;
  if (detail::uring_backend* uring = detail::running_uring_backend()) {
    s->uring = uring;
    s->accepts = std::make_unique<detail::accept_queue>();
    s->io.loop = s->loop;
  } else {
    s->loop->add_io(s->io);
  }
  s->accept_loop = spawn(*s->loop, tcp_server::accept_connections(s), "accept");
  co_return tcp_server(std::move(s));
}

}  // namespace trident::aio
