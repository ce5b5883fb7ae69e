#include "trident/http/session.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>
#include <system_error>
#include <vector>

#include "trident/aio/event_loop.hpp"
#include "trident/aio/sleep.hpp"

// How libcurl's multi-socket interface runs on the event loop
//
// libcurl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to call it back
// on a timeout (CURLMOPT_TIMERFUNCTION); we tell it which socket became ready
// (curl_multi_socket_action). It expects level-triggered readiness: it may leave data unread
// and count on hearing about the socket again. Trident's loop is edge-triggered and resumes
// coroutines, so the session keeps its own small epoll set:
//
//   1. curl's sockets go into the session's epoll set, level-triggered, with the interest
//      curl asks for; so does an eventfd used to wake the session itself.
//   2. That epoll fd is one edge-triggered io_handle on the loop; its reader is the *pump*, a
//      tiny coroutine owned by the session. An epoll fd is readable while any fd in its set is
//      ready, and each new readiness in the set wakes the loop's epoll (an edge).
//   3. The pump drains the set with epoll_wait(timeout 0), hands every ready socket to
//      curl_multi_socket_action, and repeats until the set reports nothing (so no level is
//      left unreported behind an edge that already fired), for a bounded number of rounds;
//      if work is left, it wakes itself through the eventfd and yields to the other tasks.
//   4. curl's timer is a loop timer_node; when it fires (or curl asks for "timeout 0") the
//      session writes the eventfd, which brings the pump round to call
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
// Destruction: the pump is either parked in the io_handle (destroyed with the session) or
// already queued to run (then it is orphaned: it sees no owner on its next step and ends).

namespace trident::http {

namespace {

void global_init() {
  static const bool ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  if (!ok) throw trident::error("curl_global_init failed");
}

struct pump_promise;
using pump_handle = std::coroutine_handle<pump_promise>;

struct pump_coro {
  using promise_type = pump_promise;
  pump_handle handle;
};

struct pump_promise {
  session::impl* owner = nullptr;
  pump_coro get_return_object() noexcept { return {pump_handle::from_promise(*this)}; }
  std::suspend_always initial_suspend() noexcept { return {}; }
  std::suspend_never final_suspend() noexcept { return {}; }  // an orphaned pump frees itself
  void return_void() noexcept {}
  void unhandled_exception() noexcept { std::terminate(); }
};

struct own_promise {
  pump_promise* promise = nullptr;
  bool await_ready() const noexcept { return false; }
  bool await_suspend(pump_handle h) noexcept {
    promise = &h.promise();
    return false;
  }
  pump_promise& await_resume() const noexcept { return *promise; }
};

void on_pump_step(session::impl& s) noexcept;

pump_coro pump_body() {
  for (;;) {
    pump_promise& p = co_await own_promise{};
    if (p.owner == nullptr) co_return;
    on_pump_step(*p.owner);
    co_await std::suspend_always{};
  }
}

enum class sink_mode { memory, fd, stream };

}  // namespace

/// One attempt of one request on one easy handle. Lives in the requesting coroutine's frame (or
/// in a body_stream); the session links it while libcurl runs it.
struct transfer {
  session::impl* owner = nullptr;
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
  response::header_list response_headers;

  bool active = false;  // added to the multi handle
  bool done = false;
  CURLcode result = CURLE_OK;
  std::coroutine_handle<> waiter;
  const aio::detail::task_context* context = nullptr;
  transfer* prev = nullptr;
  transfer* next = nullptr;

  transfer() = default;
  transfer(const transfer&) = delete;
  transfer& operator=(const transfer&) = delete;
  ~transfer();
};

struct session::impl {
  struct curl_timer : aio::detail::timer_node {
    impl* owner = nullptr;
  };

  session_options options;
  aio::event_loop* loop = nullptr;
  CURLM* multi = nullptr;
  int epoll_fd = -1;
  int wake_fd = -1;
  aio::detail::io_handle outer;
  pump_handle pump;
  curl_timer timer;
  bool timeout_due = false;
  bool wake_pending = false;
  std::vector<CURL*> spare;  // easy handles kept for reuse
  curl_slist* default_headers = nullptr;  // "User-Agent: ...", for requests without headers
  transfer* active = nullptr;
  session_statistics stats;
  std::minstd_rand rng{std::random_device{}()};

  explicit impl(session_options o);
  ~impl();

  void wake() noexcept {
    if (wake_pending) return;
    wake_pending = true;
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd, &one, sizeof one);
  }

  CURL* take_easy() {
    if (!spare.empty()) {
      CURL* e = spare.back();
      spare.pop_back();
      return e;
    }
    CURL* e = curl_easy_init();
    if (e == nullptr) throw trident::error("curl_easy_init failed");
    set_constant_options(e);
    return e;
  }

  /// Options that are the same for every request of this session: set once per easy handle
  /// (several copy or parse a string in libcurl, which cost allocations on every request).
  void set_constant_options(CURL* e) const noexcept;

  /// Keeps `e` for the next request. No curl_easy_reset: configure() sets every option it
  /// uses on every request (resetting and setting ~30 options again cost more per request
  /// than the transfer's own work on a fast local server).
  void give_back(CURL* e) noexcept {
    if (spare.size() < 256) {
      spare.push_back(e);
    } else {
      curl_easy_cleanup(e);
    }
  }

  void start(transfer& t) {
    if (CURLMcode rc = curl_multi_add_handle(multi, t.easy); rc != CURLM_OK) {
      throw trident::error(std::string("curl_multi_add_handle: ") + curl_multi_strerror(rc));
    }
    t.active = true;
    t.prev = nullptr;
    t.next = active;
    if (active != nullptr) active->prev = &t;
    active = &t;
    ++stats.requests;
    ++stats.active;
  }

  void unlink(transfer& t) noexcept {
    if (t.prev != nullptr) {
      t.prev->next = t.next;
    } else {
      active = t.next;
    }
    if (t.next != nullptr) t.next->prev = t.prev;
    t.prev = t.next = nullptr;
    t.active = false;
    --stats.active;
  }

  /// Removes `t` from libcurl (aborting it if unfinished). Assumes libcurl is not on the stack.
  void stop(transfer& t) noexcept {
    if (!t.active) return;
    curl_multi_remove_handle(multi, t.easy);
    unlink(t);
  }

  static void notify(transfer& t) noexcept {
    if (auto w = std::exchange(t.waiter, nullptr)) t.owner->loop->schedule(w, t.context);
  }

  void finish_done() noexcept {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      transfer* t = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
      const CURLcode rc = msg->data.result;  // msg is invalid after remove_handle
      curl_multi_remove_handle(multi, msg->easy_handle);
      if (t == nullptr) continue;
      unlink(*t);
      t->done = true;
      t->result = rc;
      notify(*t);
    }
  }

  void step() noexcept {
    std::array<epoll_event, 64> events{};
    int running = 0;
    for (int round = 0; round < 16; ++round) {
      const int n = ::epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), 0);
      for (int i = 0; i < n; ++i) {
        const epoll_event& ev = events[static_cast<std::size_t>(i)];
        if (ev.data.fd == wake_fd) {
          std::uint64_t count = 0;
          [[maybe_unused]] auto r = ::read(wake_fd, &count, sizeof count);
          wake_pending = false;
          continue;
        }
        int mask = 0;
        if (ev.events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) mask |= CURL_CSELECT_IN;
        if (ev.events & EPOLLOUT) mask |= CURL_CSELECT_OUT;
        if (ev.events & EPOLLERR) mask |= CURL_CSELECT_ERR;
        curl_multi_socket_action(multi, ev.data.fd, mask, &running);
      }
      const bool timed_out = timeout_due;
      if (timed_out) {
        timeout_due = false;
        curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
      }
      finish_done();
      if (n <= 0 && !timed_out) {
        outer.reader = pump;
        return;
      }
    }
    wake();  // more to do: come back after the other ready tasks had their turn
    outer.reader = pump;
  }

  // -- libcurl callbacks (they only record and schedule) ---------------------------------
  static int on_socket(CURL*, curl_socket_t s, int what, void* userp, void*) noexcept {
    auto* self = static_cast<impl*>(userp);
    if (what == CURL_POLL_REMOVE) {
      ::epoll_ctl(self->epoll_fd, EPOLL_CTL_DEL, s, nullptr);
      return 0;
    }
    epoll_event ev{};
    ev.events = 0;
    if (what & CURL_POLL_IN) ev.events |= EPOLLIN;
    if (what & CURL_POLL_OUT) ev.events |= EPOLLOUT;
    ev.data.fd = s;
    if (::epoll_ctl(self->epoll_fd, EPOLL_CTL_MOD, s, &ev) != 0 && errno == ENOENT) {
      ::epoll_ctl(self->epoll_fd, EPOLL_CTL_ADD, s, &ev);
    }
    return 0;
  }

  static int on_timer(CURLM*, long timeout_ms, void* userp) noexcept {
    auto* self = static_cast<impl*>(userp);
    self->loop->disarm(self->timer);
    if (timeout_ms < 0) return 0;
    if (timeout_ms == 0) {
      self->timeout_due = true;
      self->wake();
      return 0;
    }
    self->timer.deadline = aio::clock::now() + std::chrono::milliseconds(timeout_ms);
    self->loop->arm(self->timer);
    return 0;
  }

  static void on_timer_fired(aio::detail::timer_node* node) noexcept {
    auto* self = static_cast<curl_timer*>(node)->owner;
    self->timeout_due = true;
    self->wake();
  }
};

namespace {
void on_pump_step(session::impl& s) noexcept { s.step(); }
}  // namespace

transfer::~transfer() {
  if (easy != nullptr) {
    if (owner != nullptr) {
      owner->stop(*this);
      owner->give_back(easy);
    } else {
      curl_easy_cleanup(easy);
    }
  }
  if (headers != nullptr) curl_slist_free_all(headers);
}

session::impl::impl(session_options o) : options(std::move(o)), loop(&aio::event_loop::running()) {
  options.defaults = options.defaults.with_defaults(request_options::builtin());
  global_init();
  epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) {
    const int e = errno;
    ::close(epoll_fd);
    throw std::system_error(e, std::generic_category(), "eventfd");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_fd;
  ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, wake_fd, &ev);

  multi = curl_multi_init();
  if (multi == nullptr) {
    ::close(wake_fd);
    ::close(epoll_fd);
    throw trident::error("curl_multi_init failed");
  }
  curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &impl::on_socket);
  curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &impl::on_timer);
  curl_multi_setopt(multi, CURLMOPT_TIMERDATA, this);
  curl_multi_setopt(multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, static_cast<long>(options.max_connections));
  curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(options.max_connections_per_host));
  if (options.max_connections > 0) {
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, static_cast<long>(options.max_connections));
  }

  default_headers = curl_slist_append(nullptr, ("User-Agent: " + options.user_agent).c_str());
  timer.owner = this;
  timer.fire = &impl::on_timer_fired;
  pump = pump_body().handle;
  pump.promise().owner = this;
  outer.fd = epoll_fd;
  outer.reader = pump;
  try {
    loop->add_io(outer);
  } catch (...) {
    pump.destroy();
    curl_multi_cleanup(multi);
    curl_slist_free_all(default_headers);
    ::close(wake_fd);
    ::close(epoll_fd);
    throw;
  }
}

session::impl::~impl() {
  // Requests still linked: abort them; their tasks see a failure when they next run.
  while (active != nullptr) {
    transfer* t = active;
    stop(*t);
    t->done = true;
    t->result = CURLE_ABORTED_BY_CALLBACK;
    notify(*t);
    t->owner = nullptr;  // the easy handle is cleaned up by the transfer itself
  }
  loop->disarm(timer);
  loop->remove_io(outer);
  if (outer.reader == pump) {
    pump.destroy();
  } else {
    pump.promise().owner = nullptr;  // queued to run: it ends itself
  }
  for (CURL* e : spare) curl_easy_cleanup(e);
  curl_multi_cleanup(multi);
  curl_slist_free_all(default_headers);
  ::close(wake_fd);
  ::close(epoll_fd);
}

// ---------------------------------------------------------------------------------------------

namespace {

/// Suspends until the transfer is done, or (stream mode) has data.
class transfer_wait : private aio::detail::cancellable_wait {
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
  static void on_cancel(void* arg) noexcept {
    auto* self = static_cast<transfer_wait*>(arg);
    transfer& t = self->t_;
    if (!t.waiter) return;  // already scheduled by the transfer
    if (t.owner != nullptr) t.owner->stop(t);
    session::impl::notify(t);
  }
  transfer& t_;
  bool until_data_;
};

std::size_t on_write(char* data, std::size_t size, std::size_t count, void* userp) noexcept {
  auto& t = *static_cast<transfer*>(userp);
  const std::size_t n = size * count;
  if (t.max_body != 0 && t.received + n > t.max_body) {
    t.too_large = true;
    return 0;
  }
  switch (t.mode) {
    case sink_mode::memory:
      try {
        t.body.append(data, n);
      } catch (...) {
        t.too_large = true;
        return 0;
      }
      break;
    case sink_mode::fd: {
      if (!t.status_checked) {
        long status = 0;
        curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
        t.discarding = status >= 400;
        t.status_checked = true;
      }
      if (t.discarding) break;
      std::size_t off = 0;
      while (off < n) {
        const ssize_t w = ::write(t.fd, data + off, n - off);
        if (w < 0) {
          if (errno == EINTR) continue;
          t.write_errno = errno;
          return 0;
        }
        off += static_cast<std::size_t>(w);
      }
      break;
    }
    case sink_mode::stream:
      if (!t.body.empty() && t.body.size() + n > t.high_water) {
        t.paused = true;
        return CURL_WRITEFUNC_PAUSE;  // libcurl keeps the chunk and offers it again on unpause
      }
      try {
        t.body.append(data, n);
      } catch (...) {
        t.too_large = true;
        return 0;
      }
      t.has_data = true;
      session::impl::notify(t);
      break;
  }
  t.received += n;
  if (t.owner != nullptr) t.owner->stats.body_bytes += n;
  if (t.on_bytes) t.on_bytes(n);
  return n;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* userp) noexcept {
  auto& t = *static_cast<transfer*>(userp);
  const std::size_t n = size * count;
  const std::string_view line = trim(std::string_view(data, n));
  try {
    if (line.starts_with("HTTP/")) {
      t.response_headers.clear();  // a new response (after a redirect or 100 Continue)
    } else if (const auto colon = line.find(':'); colon != std::string_view::npos && colon > 0) {
      t.response_headers.emplace_back(std::string(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1))));
    }
  } catch (...) {
    return 0;
  }
  return n;
}

error_kind kind_of(CURLcode rc) noexcept {
  switch (rc) {
    case CURLE_URL_MALFORMAT: return error_kind::malformed_url;
    case CURLE_UNSUPPORTED_PROTOCOL: return error_kind::unsupported_scheme;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return error_kind::dns;
    case CURLE_COULDNT_CONNECT: return error_kind::connect;
    case CURLE_OPERATION_TIMEDOUT: return error_kind::timeout;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CRL_BADFILE: return error_kind::tls;
    case CURLE_PARTIAL_FILE: return error_kind::short_body;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM: return error_kind::connection;
    case CURLE_TOO_MANY_REDIRECTS: return error_kind::too_many_redirects;
    case CURLE_FILESIZE_EXCEEDED: return error_kind::body_too_large;
    default: return error_kind::other;
  }
}

transfer_error make_error(const transfer& t, const std::string& url) {
  if (t.too_large || t.result == CURLE_FILESIZE_EXCEEDED) {
    return transfer_error(error_kind::body_too_large,
                          "body of " + url + " exceeds the maximum size of " + std::to_string(t.max_body) + " bytes",
                          url, t.result);
  }
  if (t.write_errno != 0) {
    return transfer_error(error_kind::file, "writing the body of " + url + " failed: " + std::strerror(t.write_errno),
                          url, t.result, t.write_errno);
  }
  if (t.result == CURLE_ABORTED_BY_CALLBACK && t.owner == nullptr) {
    return transfer_error(error_kind::other, "session closed while " + url + " was in flight", url, t.result);
  }
  const error_kind k = kind_of(t.result);
  std::string detail = t.errbuf[0] != '\0' ? std::string(t.errbuf.data()) : std::string(curl_easy_strerror(t.result));
  return transfer_error(k, std::string(to_string(k)) + " error for " + url + ": " + detail, url, t.result);
}

/// Checks the URL and appends the query parameters. Throws transfer_error.
std::string build_url(const request& req) {
  // The common case needs no parse here: an http(s) URL without parameters goes to libcurl as
  // it is, which reports a malformed one as CURLE_URL_MALFORMAT (-> malformed_url).
  if (req.params.empty() && (req.url.starts_with("http://") || req.url.starts_with("https://"))) {
    bool plain = true;
    for (unsigned char c : req.url) plain = plain && c > 0x20 && c != 0x7f;
    if (plain) return req.url;
  }
  CURLU* u = curl_url();
  if (u == nullptr) throw std::bad_alloc();
  struct guard {
    CURLU* u;
    ~guard() { curl_url_cleanup(u); }
  } g{u};
  if (req.url.empty()) throw transfer_error(error_kind::malformed_url, "malformed URL: empty", req.url);
  for (unsigned char c : req.url) {
    if (c < 0x20 || c == 0x7f || c == ' ') {
      throw transfer_error(error_kind::malformed_url, "malformed URL '" + req.url + "': contains a space or control character", req.url);
    }
  }
  if (CURLUcode rc = curl_url_set(u, CURLUPART_URL, req.url.c_str(), CURLU_NON_SUPPORT_SCHEME); rc != CURLUE_OK) {
    throw transfer_error(error_kind::malformed_url, "malformed URL '" + req.url + "': " + curl_url_strerror(rc), req.url);
  }
  char* scheme = nullptr;
  curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
  std::string s = scheme != nullptr ? scheme : "";
  curl_free(scheme);
  if (s != "http" && s != "https") {
    throw transfer_error(error_kind::unsupported_scheme, "unsupported scheme '" + s + "' in " + req.url + " (http and https only)", req.url);
  }
  for (const auto& [k, v] : req.params) {
    const std::string kv = k + "=" + v;
    if (curl_url_set(u, CURLUPART_QUERY, kv.c_str(), CURLU_APPENDQUERY | CURLU_URLENCODE) != CURLUE_OK) {
      throw transfer_error(error_kind::malformed_url, "bad query parameter '" + k + "'", req.url);
    }
  }
  char* full = nullptr;
  if (curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK || full == nullptr) {
    throw transfer_error(error_kind::malformed_url, "malformed URL '" + req.url + "'", req.url);
  }
  std::string out = full;
  curl_free(full);
  return out;
}

std::string version_name(long v) {
  switch (v) {
    case CURL_HTTP_VERSION_1_0: return "1.0";
    case CURL_HTTP_VERSION_1_1: return "1.1";
    case CURL_HTTP_VERSION_2_0: return "2";
    case CURL_HTTP_VERSION_3: return "3";
    default: return "";
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------

namespace {

struct sink_spec {
  sink_mode mode = sink_mode::memory;
  int fd = -1;
  bool rewindable = false;  // fd mode: a file of our own, emptied before a retry
  std::size_t high_water = 0;
};

/// Empties the file of a failed attempt so the next one starts from byte 0. Returns false when
/// it cannot (then the failure stands).
bool rewind(int fd) noexcept { return ::ftruncate(fd, 0) == 0 && ::lseek(fd, 0, SEEK_SET) == 0; }

}  // namespace

void session::impl::set_constant_options(CURL* e) const noexcept {
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &on_write);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");  // every encoding libcurl can decode
  curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 128L * 1024);
  // Proxies only when asked for: the environment's http_proxy is not used behind the
  // program's back (aiohttp's trust_env=False).
  curl_easy_setopt(e, CURLOPT_PROXY, options.proxy.c_str());
}

namespace {

void configure(session::impl& s, transfer& t, const request& req, const request_options& o, const std::string& url,
               const sink_spec& sink) {
  t.owner = &s;
  t.easy = s.take_easy();
  t.mode = sink.mode;
  t.fd = sink.fd;
  t.high_water = sink.high_water;
  t.max_body = *o.max_body_bytes;
  t.on_bytes = o.on_body_bytes;
  CURL* e = t.easy;
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.errbuf.data());
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, *o.max_redirects > 0 ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, static_cast<long>(*o.max_redirects));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.connect_timeout->count()));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(o.total_timeout->count()));
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, static_cast<long>(o.stall_timeout->count()));  // 0: off
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, static_cast<long>(*o.stall_min_bytes_per_s));
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, *o.verify_tls ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, *o.verify_tls ? 2L : 0L);
  // Wait for a connection being set up to the same host rather than open another, so HTTP/2
  // can multiplex; only for https (where ALPN offers h2): for plain http it would hold every
  // request of a burst until the first response shows the server speaks only HTTP/1.1.
  curl_easy_setopt(e, CURLOPT_PIPEWAIT, url.starts_with("https:") ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(*o.max_body_bytes));  // 0: no limit
  curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);  // also undoes NOBODY/POST of an earlier request
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, static_cast<const char*>(nullptr));
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, static_cast<curl_slist*>(nullptr));
  if (req.method == "HEAD") {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (req.method == "GET") {
  } else {
    if (req.method == "POST" || !req.body.empty()) {
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, req.body.data());
    }
    if (req.method != "POST") curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  auto add_header = [&t](const std::string& line) {
    curl_slist* next = curl_slist_append(t.headers, line.c_str());
    if (next == nullptr) throw std::bad_alloc();
    t.headers = next;
  };
  // The User-Agent goes in as a plain header line: CURLOPT_USERAGENT costs a formatted
  // allocation (aprintf) inside libcurl on every request. Requests without headers of their own
  // share the session's one-line list.
  if (req.content_type.empty() && req.headers.empty()) {
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, s.default_headers);
  } else {
    bool own_agent = false;
    for (const auto& h : req.headers) own_agent = own_agent || ::strcasecmp(h.first.c_str(), "User-Agent") == 0;
    if (!own_agent) add_header("User-Agent: " + s.options.user_agent);
    if (!req.content_type.empty()) add_header("Content-Type: " + req.content_type);
    for (const auto& [name, value] : req.headers) add_header(name + ": " + value);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers);
  }
}

response make_response(transfer& t, std::string body) {
  long status = 0;
  curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
  char* effective = nullptr;
  curl_easy_getinfo(t.easy, CURLINFO_EFFECTIVE_URL, &effective);
  long version = 0;
  curl_easy_getinfo(t.easy, CURLINFO_HTTP_VERSION, &version);
  response r(static_cast<int>(status), effective != nullptr ? effective : "", std::move(t.response_headers), std::move(body));
  r.set_body_bytes(t.received);
  r.set_http_version(version_name(version));
  return r;
}

/// The delay before the next attempt, or empty when the policy says stop.
std::optional<std::chrono::milliseconds> next_delay(session::impl& s, const retry_policy& p, int attempt,
                                                    aio::clock::time_point started,
                                                    std::optional<std::chrono::milliseconds> retry_after) {
  if (attempt >= p.max_attempts) return std::nullopt;
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::chrono::milliseconds delay = p.backoff(attempt + 1, unit(s.rng));
  if (retry_after && p.honour_retry_after) delay = *retry_after;
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(aio::clock::now() - started);
  if (elapsed + delay > p.max_total) return std::nullopt;
  return delay;
}

}  // namespace

struct body_stream::state {
  std::unique_ptr<transfer> t;
  std::string url;
};

namespace {

/// Runs `req` with retries. Stream mode: returns once the first body bytes (or the end) are
/// in, handing the live transfer to `keep`.
aio::task<response> run(session::impl& s, request req, sink_spec sink, std::unique_ptr<transfer>* keep) {
  // Field by field: what the request leaves unset comes from the session (whose own unset
  // fields were filled from the built-in defaults when it was made), so every field is set.
  const request_options o = req.options.with_defaults(s.options.defaults);
  const std::string url = build_url(req);
  const bool may_retry = idempotent(req.method) && o.retry->max_attempts > 1;
  const auto started = aio::clock::now();
  for (int attempt = 1;; ++attempt) {
    if (attempt > 1) ++s.stats.retries;
    auto t = std::make_unique<transfer>();
    configure(s, *t, req, o, url, sink);
    s.start(*t);
    co_await transfer_wait(*t, sink.mode == sink_mode::stream);
    // A stream that already has data reports a later failure from next(), in order.
    if (t->done && t->result != CURLE_OK && !(sink.mode == sink_mode::stream && t->has_data)) {
      transfer_error e = make_error(*t, url);
      e.set_attempts(attempt);
      // Body bytes already in someone else's fd cannot be taken back; in save_to's own file
      // they can.
      const bool wrote = sink.mode == sink_mode::fd && t->received > 0 && !t->discarding;
      const bool clean = !wrote || (sink.rewindable && rewind(sink.fd));
      if (may_retry && clean && retry_policy::retriable(e.kind())) {
        if (auto d = next_delay(s, *o.retry, attempt, started, std::nullopt)) {
          t.reset();
          co_await aio::sleep(*d);
          continue;
        }
      }
      throw e;
    }
    response r = make_response(*t, sink.mode == sink_mode::memory ? std::move(t->body) : std::string());
    r.set_attempts(attempt);
    if (may_retry && retry_policy::retriable(r.status())) {
      std::optional<std::chrono::milliseconds> after;
      if (auto h = r.header("Retry-After")) after = parse_retry_after(*h);
      if (auto d = next_delay(s, *o.retry, attempt, started, after)) {
        t.reset();
        co_await aio::sleep(*d);
        continue;
      }
    }
    if (keep != nullptr) *keep = std::move(t);
    co_return r;
  }
}

}  // namespace

session::session(session_options options) : impl_(std::make_unique<impl>(std::move(options))) {}
session::~session() = default;

const session_options& session::options() const noexcept { return impl_->options; }
session_statistics session::statistics() const noexcept { return impl_->stats; }

aio::task<response> session::send(request req) { return run(*impl_, std::move(req), sink_spec{}, nullptr); }

aio::task<response> session::get(std::string url) {
  request r;
  r.url = std::move(url);
  return send(std::move(r));
}

aio::task<response> session::head(std::string url) {
  request r;
  r.method = "HEAD";
  r.url = std::move(url);
  return send(std::move(r));
}

aio::task<response> session::post(std::string url, std::string body, std::string content_type) {
  request r;
  r.method = "POST";
  r.url = std::move(url);
  r.body = std::move(body);
  r.content_type = std::move(content_type);
  return send(std::move(r));
}

aio::task<response> session::download_to(request req, int fd) {
  sink_spec sink;
  sink.mode = sink_mode::fd;
  sink.fd = fd;
  return run(*impl_, std::move(req), sink, nullptr);
}

aio::task<response> session::save_to(request req, std::filesystem::path path) {
  const std::string url = req.url;
  // The temporary: beside `path` (so the rename stays on one file system), created with
  // O_EXCL (never someone else's file) and mode 0666 less the umask, as the final file would be.
  static std::atomic<std::uint64_t> counter{0};
  std::string temp;
  int fd = -1;
  for (int tries = 0; fd < 0; ++tries) {
    temp = path.string() + ".part-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1, std::memory_order_relaxed));
    fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && (errno != EEXIST || tries > 100)) {
      const int e = errno;
      throw transfer_error(error_kind::file, "cannot create a file beside " + path.string() + ": " + std::strerror(e), url, 0, e);
    }
  }
  struct temp_guard {
    int fd;
    std::string path;
    bool keep = false;
    ~temp_guard() {
      if (fd >= 0) ::close(fd);
      if (!keep) ::unlink(path.c_str());
    }
  } guard{fd, temp};
  sink_spec sink;
  sink.mode = sink_mode::fd;
  sink.fd = fd;
  sink.rewindable = true;
  response r = co_await run(*impl_, std::move(req), sink, nullptr);
  if (r.status() >= 400) {
    http_status_error e(r.status(), r.url());
    e.set_attempts(r.attempts());
    throw e;
  }
  if (::close(std::exchange(guard.fd, -1)) != 0) {
    const int e = errno;
    throw transfer_error(error_kind::file, "writing " + path.string() + " failed: " + std::strerror(e), url, 0, e);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    throw transfer_error(error_kind::file, "cannot rename the download to " + path.string() + ": " + std::strerror(e), url, 0, e);
  }
  guard.keep = true;
  co_return r;
}

aio::task<body_stream> session::open(request req, std::size_t buffer_bytes) {
  sink_spec sink;
  sink.mode = sink_mode::stream;
  sink.high_water = buffer_bytes == 0 ? 1 : buffer_bytes;
  auto st = std::make_unique<body_stream::state>();
  st->url = req.url;
  response head = co_await run(*impl_, std::move(req), sink, &st->t);
  co_return body_stream(std::move(st), std::move(head));
}

// ---------------------------------------------------------------------------------------------

body_stream::body_stream(std::unique_ptr<state> s, response head) noexcept : state_(std::move(s)), head_(std::move(head)) {}
body_stream::body_stream(body_stream&&) noexcept = default;
body_stream& body_stream::operator=(body_stream&&) noexcept = default;
body_stream::~body_stream() = default;

aio::task<std::optional<std::string>> body_stream::next() {
  if (!state_ || !state_->t) co_return std::nullopt;
  transfer& t = *state_->t;
  for (;;) {
    if (!t.body.empty()) {
      std::string out;
      out.swap(t.body);
      if (t.paused) {
        t.paused = false;
        curl_easy_pause(t.easy, CURLPAUSE_CONT);  // may hand over the held chunk at once
      }
      co_return out;
    }
    if (t.done) {
      if (t.result != CURLE_OK) throw make_error(t, state_->url);
      state_->t.reset();
      co_return std::nullopt;
    }
    co_await transfer_wait(t, true);
  }
}

aio::async_generator<std::string> body_stream::chunks() {
  while (auto chunk = co_await next()) co_yield std::move(*chunk);
}

}  // namespace trident::http
