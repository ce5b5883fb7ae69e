#include "curl_driver.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <string>
#include <system_error>
#include <utility>

#include "transfer.hpp"
#include "trident/core/errors.hpp"

// How libcurl's multi-socket interface runs on the event loop
//
// libcurl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to call it back
// on a timeout (CURLMOPT_TIMERFUNCTION); we tell it which socket became ready
// (curl_multi_socket_action). It expects level-triggered readiness: it may leave data unread
// and count on hearing about the socket again. Trident's loop is edge-triggered and resumes
// coroutines, so the driver keeps its own small epoll set:
//
//   1. curl's sockets go into the driver's epoll set, level-triggered, with the interest
//      curl asks for; so does an eventfd used to wake the driver itself.
//   2. That epoll fd is one edge-triggered io_handle on the loop; its reader is the *pump*, a
//      tiny coroutine owned by the driver. An epoll fd is readable while any fd in its set is
//      ready, and each new readiness in the set wakes the loop's epoll (an edge).
//   3. The pump drains the set with epoll_wait(timeout 0), hands every ready socket to
//      curl_multi_socket_action, and repeats until the set reports nothing (so no level is
//      left unreported behind an edge that already fired), for a bounded number of rounds;
//      if work is left, it wakes itself through the eventfd and yields to the other tasks.
//   4. curl's timer is a loop timer_node; when it fires (or curl asks for "timeout 0") the
//      driver writes the eventfd, which brings the pump round to call
//      curl_multi_socket_action(CURL_SOCKET_TIMEOUT). libcurl is never called from inside the
//      loop's timer phase or from inside one of its own callbacks.
//   5. After each round, finished transfers (curl_multi_info_read) are removed from the multi
//      handle and their awaiting tasks are *scheduled*, never resumed from inside libcurl.
//
// Cancellation: the cancel hook of a waiting request removes its easy handle from the multi
// handle (curl closes the connection, whose state is unknown) and schedules the task, which
// then raises cancelled_error. The hook runs outside libcurl: only coroutines and loop
// callbacks cancel tasks, and libcurl's callbacks here only schedule.
//
// Destruction: the pump is either parked in the io_handle (destroyed with the driver) or
// already queued to run (then it is orphaned: it sees no owner on its next step and ends).

namespace trident::http {

namespace {

void global_init() {
  static const bool ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  if (!ok) throw trident::error("curl_global_init failed");
}

}  // namespace

struct curl_driver::pump_coro {
  struct promise_type {
    curl_driver* owner = nullptr;
    pump_coro get_return_object() noexcept { return {std::coroutine_handle<promise_type>::from_promise(*this)}; }
    std::suspend_always initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }  // an orphaned pump frees itself
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
  /// Gives the pump's body its own promise (where the owner is).
  struct own_promise {
    promise_type* promise = nullptr;
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<promise_type> h) noexcept {
      promise = &h.promise();
      return false;
    }
    promise_type& await_resume() const noexcept { return *promise; }
  };
  std::coroutine_handle<promise_type> handle;
};

curl_driver::pump_coro curl_driver::pump_body() {
  for (;;) {
    pump_coro::promise_type& p = co_await pump_coro::own_promise{};
    if (p.owner == nullptr) co_return;
    p.owner->step();
    co_await std::suspend_always{};
  }
}

curl_driver::curl_driver(const session_options& options) : options_(options), loop_(&aio::event_loop::running()) {
  global_init();
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    const int e = errno;
    ::close(epoll_fd_);
    throw std::system_error(e, std::generic_category(), "eventfd");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_fd_;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);

  multi_ = curl_multi_init();
  if (multi_ == nullptr) {
    ::close(wake_fd_);
    ::close(epoll_fd_);
    throw trident::error("curl_multi_init failed");
  }
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &curl_driver::on_socket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &curl_driver::on_timer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, static_cast<long>(options_.max_connections));
  curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(options_.max_connections_per_host));
  if (options_.max_connections > 0) {
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(options_.max_connections));
  }

  default_headers_ = curl_slist_append(nullptr, ("User-Agent: " + options_.user_agent).c_str());
  timer_.owner = this;
  timer_.fire = &curl_driver::on_timer_fired;
  auto pump = pump_body().handle;
  pump.promise().owner = this;
  pump_owner_ = &pump.promise().owner;
  pump_ = pump;
  outer_.fd = epoll_fd_;
  outer_.reader = pump_;
  try {
    loop_->add_io(outer_);
  } catch (...) {
    pump_.destroy();
    curl_multi_cleanup(multi_);
    curl_slist_free_all(default_headers_);
    ::close(wake_fd_);
    ::close(epoll_fd_);
    throw;
  }
}

curl_driver::~curl_driver() {
  // Transfers still linked: abort them; their tasks see a failure when they next run.
  while (active_ != nullptr) {
    transfer* t = active_;
    stop(*t);
    t->done = true;
    t->result = CURLE_ABORTED_BY_CALLBACK;
    notify(*t);
    t->owner = nullptr;  // the easy handle is cleaned up by the transfer itself
  }
  loop_->disarm(timer_);
  loop_->remove_io(outer_);
  if (outer_.reader == pump_) {
    pump_.destroy();
  } else {
    *pump_owner_ = nullptr;  // queued to run: it ends itself
  }
  for (CURL* e : spare_) curl_easy_cleanup(e);
  curl_multi_cleanup(multi_);
  curl_slist_free_all(default_headers_);
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

void curl_driver::wake() noexcept {
  if (wake_pending_) return;
  wake_pending_ = true;
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
}

CURL* curl_driver::take_easy() {
  if (!spare_.empty()) {
    CURL* e = spare_.back();
    spare_.pop_back();
    return e;
  }
  CURL* e = curl_easy_init();
  if (e == nullptr) throw trident::error("curl_easy_init failed");
  set_constant_options(e, options_);
  return e;
}

void curl_driver::give_back(CURL* e) noexcept {
  if (spare_.size() < 256) {
    spare_.push_back(e);
  } else {
    curl_easy_cleanup(e);
  }
}

void curl_driver::start(transfer& t) {
  if (CURLMcode rc = curl_multi_add_handle(multi_, t.easy); rc != CURLM_OK) {
    throw trident::error(std::string("curl_multi_add_handle: ") + curl_multi_strerror(rc));
  }
  t.active = true;
  t.prev = nullptr;
  t.next = active_;
  if (active_ != nullptr) active_->prev = &t;
  active_ = &t;
  counters_.count_request();
}

void curl_driver::unlink(transfer& t) noexcept {
  if (t.prev != nullptr) {
    t.prev->next = t.next;
  } else {
    active_ = t.next;
  }
  if (t.next != nullptr) t.next->prev = t.prev;
  t.prev = t.next = nullptr;
  t.active = false;
  counters_.count_end();
}

void curl_driver::stop(transfer& t) noexcept {
  if (!t.active) return;
  curl_multi_remove_handle(multi_, t.easy);
  unlink(t);
}

void curl_driver::notify(transfer& t) noexcept {
  if (auto w = std::exchange(t.waiter, nullptr)) t.owner->loop_->schedule(w, t.context);
}

void curl_driver::finish_done() noexcept {
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    transfer* t = nullptr;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
    const CURLcode rc = msg->data.result;  // msg is invalid after remove_handle
    curl_multi_remove_handle(multi_, msg->easy_handle);
    if (t == nullptr) continue;
    unlink(*t);
    t->done = true;
    t->result = rc;
    notify(*t);
  }
}

void curl_driver::step() noexcept {
  std::array<epoll_event, 64> events{};
  int running = 0;
  for (int round = 0; round < 16; ++round) {
    const int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), 0);
    for (int i = 0; i < n; ++i) {
      const epoll_event& ev = events[static_cast<std::size_t>(i)];
      if (ev.data.fd == wake_fd_) {
        std::uint64_t count = 0;
        [[maybe_unused]] auto r = ::read(wake_fd_, &count, sizeof count);
        wake_pending_ = false;
        continue;
      }
      int mask = 0;
      if (ev.events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) mask |= CURL_CSELECT_IN;
      if (ev.events & EPOLLOUT) mask |= CURL_CSELECT_OUT;
      if (ev.events & EPOLLERR) mask |= CURL_CSELECT_ERR;
      curl_multi_socket_action(multi_, ev.data.fd, mask, &running);
    }
    const bool timed_out = timeout_due_;
    if (timed_out) {
      timeout_due_ = false;
      curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    finish_done();
    if (n <= 0 && !timed_out) {
      outer_.reader = pump_;
      return;
    }
  }
  wake();  // more to do: come back after the other ready tasks had their turn
  outer_.reader = pump_;
}

// -- libcurl callbacks (they only record and schedule) ---------------------------------------

int curl_driver::on_socket(CURL*, curl_socket_t s, int what, void* userp, void*) noexcept {
  auto* self = static_cast<curl_driver*>(userp);
  if (what == CURL_POLL_REMOVE) {
    ::epoll_ctl(self->epoll_fd_, EPOLL_CTL_DEL, s, nullptr);
    return 0;
  }
  epoll_event ev{};
  ev.events = 0;
  if (what & CURL_POLL_IN) ev.events |= EPOLLIN;
  if (what & CURL_POLL_OUT) ev.events |= EPOLLOUT;
  ev.data.fd = s;
  if (::epoll_ctl(self->epoll_fd_, EPOLL_CTL_MOD, s, &ev) != 0 && errno == ENOENT) {
    ::epoll_ctl(self->epoll_fd_, EPOLL_CTL_ADD, s, &ev);
  }
  return 0;
}

int curl_driver::on_timer(CURLM*, long timeout_ms, void* userp) noexcept {
  auto* self = static_cast<curl_driver*>(userp);
  self->loop_->disarm(self->timer_);
  if (timeout_ms < 0) return 0;
  if (timeout_ms == 0) {
    self->timeout_due_ = true;
    self->wake();
    return 0;
  }
  self->timer_.deadline = aio::clock::now() + std::chrono::milliseconds(timeout_ms);
  self->loop_->arm(self->timer_);
  return 0;
}

void curl_driver::on_timer_fired(aio::lowlevel::timer_node* node) noexcept {
  auto* self = static_cast<curl_timer*>(node)->owner;
  self->timeout_due_ = true;
  self->wake();
}

}  // namespace trident::http
