#include "trident/http/session.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "curl_driver.hpp"
#include "transfer.hpp"
#include "trident/aio/lowlevel/loop_thread.hpp"
#include "trident/aio/lowlevel/run_on.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/core/atomic_file.hpp"

// The session API: a request becomes one transfer per attempt (transfer.cpp), run by a
// curl_driver (curl_driver.cpp); `run` below is the retry loop around the attempts.
//
// Loops. An `engine` is one event loop's share of a session: a curl_driver with its share of
// the connection limits. The session always has one on the loop that made it; with
// `loops` > 1 it also starts `engine_thread`s, each an aio::lowlevel::loop_thread with an engine
// made and destroyed on it, until the session ends. A request goes to the engine with the
// fewest requests in flight (counted on the caller's thread), ties taken in turn. On another
// loop it runs through aio::lowlevel::run_on (trident/aio/lowlevel/run_on.hpp): the request runs
// as a task of that loop and its response or exception comes back to the awaiting task.
// Cancelling the awaiting task cancels the request there (its transfer removed, save_to's file
// abandoned) and resumes the caller with cancelled_error once that is done.
// With one loop (the default) requests call `run` directly, as if there were no dispatch.

namespace trident::http {

namespace {

/// One event loop's share of a session. Made, used and destroyed on its loop's thread.
struct engine {
  session_options options;  // this loop's share of the limits; `defaults` completed
  curl_driver driver;       // after `options`, which it reads
  std::minstd_rand rng{std::random_device{}()};

  explicit engine(session_options o) : options(std::move(o)), driver(options) {}
};

/// A `loop_thread` with an engine: made on that thread by the constructor, destroyed there by
/// the destructor (the engine's driver registers with that thread's loop).
///
/// Thread safety: `thread` and `counters` may be used from any thread; `target` only on the
/// loop thread (from the work `on_some_loop` sends there).
class engine_thread {
 public:
  /// Starts the thread and makes its engine there; rethrows what stopped either.
  engine_thread(session_options options, std::string name) : thread_(std::move(name)) {
    engine_ = thread_.call([&options] { return std::make_unique<engine>(std::move(options)); });
  }
  engine_thread(const engine_thread&) = delete;
  engine_thread& operator=(const engine_thread&) = delete;
  ~engine_thread() {
    thread_.call([this] { engine_.reset(); });
  }  // then `thread_` stops the loop, cancelling what still runs there, and joins

  [[nodiscard]] aio::lowlevel::loop_thread& thread() noexcept { return thread_; }
  [[nodiscard]] engine& target() const noexcept { return *engine_; }
  [[nodiscard]] const driver_counters& counters() const noexcept { return engine_->driver.counters(); }

 private:
  aio::lowlevel::loop_thread thread_;
  std::unique_ptr<engine> engine_;  // the thread's; set once the constructor returns
};

/// Loop `index`'s share of `limit` over `count` loops (0: no limit stays no limit).
int share_of(int limit, std::size_t index, std::size_t count) {
  if (limit <= 0) return limit;
  const auto n = static_cast<std::size_t>(limit);
  return static_cast<int>(n / count + (index < n % count ? 1 : 0));
}

/// The loops a session runs: `loops` (0: hardware threads), no more than a limit allows.
std::size_t loop_count(const session_options& o) {
  if (o.loops < 0)
    throw std::invalid_argument("session_options::loops must be 0 or more, not " + std::to_string(o.loops));
  std::size_t n = o.loops == 0 ? std::max(1U, std::thread::hardware_concurrency()) : static_cast<std::size_t>(o.loops);
  if (o.max_connections > 0) n = std::min(n, static_cast<std::size_t>(o.max_connections));
  if (o.max_connections_per_host > 0) n = std::min(n, static_cast<std::size_t>(o.max_connections_per_host));
  return n;
}

}  // namespace

struct session::impl {
  session_options options;  // `defaults` completed from request_options::builtin()
  std::size_t count;        // loops: `local` and one per thread
  engine local;             // the caller's loop; after `options` and `count`, which it reads
  std::vector<std::unique_ptr<engine_thread>> threads;
  std::vector<std::size_t> in_flight;  // per loop, 0 = local; caller's thread only
  std::size_t next = 0;                // where `least_busy` starts looking; caller's thread only

  explicit impl(session_options o)
      : options(complete(std::move(o))),
        count(loop_count(options)),
        local(share(options, 0, count)),
        in_flight(count, 0) {
    threads.reserve(count - 1);
    for (std::size_t i = 1; i < count; ++i) {
      threads.push_back(std::make_unique<engine_thread>(share(options, i, count), "http loop " + std::to_string(i)));
    }
  }

  static session_options complete(session_options o) {
    o.defaults = o.defaults.with_defaults(request_options::builtin());
    return o;
  }

  static session_options share(session_options o, std::size_t index, std::size_t count) {
    o.max_connections = share_of(o.max_connections, index, count);
    o.max_connections_per_host = share_of(o.max_connections_per_host, index, count);
    return o;
  }

  /// The loop with the fewest requests in flight; ties go round the loops in turn, so that
  /// requests made one after another spread too.
  std::size_t least_busy() noexcept {
    std::size_t best = next;
    for (std::size_t k = 1; k < count; ++k) {
      const std::size_t i = (next + k) % count;
      if (in_flight[i] < in_flight[best]) best = i;
    }
    next = (best + 1) % count;
    return best;
  }
};

namespace {

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
      throw transfer_error(error_kind::malformed_url,
                           "malformed URL '" + req.url + "': contains a space or control character", req.url);
    }
  }
  if (CURLUcode rc = curl_url_set(u, CURLUPART_URL, req.url.c_str(), CURLU_NON_SUPPORT_SCHEME); rc != CURLUE_OK) {
    throw transfer_error(error_kind::malformed_url, "malformed URL '" + req.url + "': " + curl_url_strerror(rc),
                         req.url);
  }
  char* scheme = nullptr;
  curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
  std::string s = scheme != nullptr ? scheme : "";
  curl_free(scheme);
  if (s != "http" && s != "https") {
    throw transfer_error(error_kind::unsupported_scheme,
                         "unsupported scheme '" + s + "' in " + req.url + " (http and https only)", req.url);
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

/// The delay before the next attempt, or empty when the policy says stop.
std::optional<std::chrono::milliseconds> next_delay(std::minstd_rand& rng, const retry_policy& p, int attempt,
                                                    aio::clock::time_point started,
                                                    std::optional<std::chrono::milliseconds> retry_after) {
  if (attempt >= p.max_attempts) return std::nullopt;
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::chrono::milliseconds delay = p.backoff(attempt + 1, unit(rng));
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
aio::task<response> run(engine& s, request req, sink_spec sink, std::unique_ptr<transfer>* keep) {
  // Field by field: what the request leaves unset comes from the session (whose own unset
  // fields were filled from the built-in defaults when it was made), so every field is set.
  const request_options o = req.options.with_defaults(s.options.defaults);
  const std::string url = build_url(req);
  const bool may_retry = idempotent(req.method) && o.retry->max_attempts > 1;
  const auto started = aio::clock::now();
  for (int attempt = 1;; ++attempt) {
    if (attempt > 1) s.driver.counters().count_retry();
    auto t = std::make_unique<transfer>();
    configure(s.driver, *t, req, o, url, sink);
    s.driver.start(*t);
    co_await transfer_wait(*t, sink.mode == sink_mode::stream);
    // A stream that already has data reports a later failure from next(), in order.
    if (t->done && t->result != CURLE_OK && !(sink.mode == sink_mode::stream && t->has_data)) {
      transfer_error e = make_error(*t, url);
      e.set_attempts(attempt);
      // Body bytes already in someone else's fd cannot be taken back; in save_to's own file
      // they can.
      const bool wrote = sink.mode == sink_mode::fd && t->received > 0 && !t->discarding;
      const bool clean = !wrote || rewind(sink);
      if (may_retry && clean && retry_policy::retriable(e.kind())) {
        if (auto d = next_delay(s.rng, *o.retry, attempt, started, std::nullopt)) {
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
      if (auto d = next_delay(s.rng, *o.retry, attempt, started, after)) {
        t.reset();
        co_await aio::sleep(*d);
        continue;
      }
    }
    if (keep != nullptr) *keep = std::move(t);
    co_return r;
  }
}

/// A file error of save_to as the transfer_error its callers catch.
transfer_error file_error(const std::system_error& e, const std::string& url) {
  return transfer_error(error_kind::file, e.what(), url, 0, e.code().value());
}

/// Runs what `work` makes on the least busy loop of `s` and returns its response there.
aio::task<response> on_some_loop(session::impl& s, std::function<aio::task<response>(engine&)> work) {
  const std::size_t i = s.least_busy();
  ++s.in_flight[i];
  struct count_down {
    std::size_t& n;
    ~count_down() { --n; }
  } done{s.in_flight[i]};
  if (i == 0) {
    auto local = work(s.local);
    co_return co_await std::move(local);
  }
  engine_thread& target = *s.threads[i - 1];
  auto on_target = [work = std::move(work), &target] { return work(target.target()); };
  auto call = aio::lowlevel::run_on(target.thread(), std::move(on_target), "http request");
  co_return co_await call;
}

aio::task<response> save_to_on(engine& e, request req, std::filesystem::path path) {
  const std::string url = req.url;
  // save_to has always replaced an existing file (as curl -o does); trident fetch leaves
  // existing files alone only when asked (--skip-existing), before it calls save_to.
  atomic_file::options file_options;
  file_options.if_exists = atomic_file::existing::replace;
  std::optional<atomic_file> file;
  try {
    file.emplace(path, file_options);
  } catch (const std::system_error& err) {
    throw file_error(err, url);
  }
  sink_spec sink;
  sink.mode = sink_mode::fd;
  sink.fd = file->native_handle();
  sink.file = &*file;
  auto attempts = run(e, std::move(req), sink, nullptr);
  response r = co_await std::move(attempts);
  if (r.status() >= 400) {
    http_status_error err(r.status(), r.url());
    err.set_attempts(r.attempts());
    throw err;  // `file` abandons the partial download
  }
  try {
    file->commit();
  } catch (const std::system_error& err) {
    throw file_error(err, url);
  }
  co_return r;
}

aio::task<response> download_to_on(engine& e, request req, int fd) {
  sink_spec sink;
  sink.mode = sink_mode::fd;
  sink.fd = fd;
  return run(e, std::move(req), sink, nullptr);
}

}  // namespace

session::session(session_options options) : impl_(std::make_unique<impl>(std::move(options))) {}
session::~session() = default;

const session_options& session::options() const noexcept { return impl_->options; }

session_statistics session::statistics() const noexcept {
  session_statistics total;
  impl_->local.driver.counters().add_to(total);
  for (const auto& t : impl_->threads) t->counters().add_to(total);
  return total;
}

std::size_t session::loops() const noexcept { return impl_->count; }

aio::task<response> session::send(request req) {
  if (impl_->threads.empty()) return run(impl_->local, std::move(req), sink_spec{}, nullptr);
  return on_some_loop(
      *impl_, [req = std::move(req)](engine& e) mutable { return run(e, std::move(req), sink_spec{}, nullptr); });
}

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
  if (impl_->threads.empty()) return download_to_on(impl_->local, std::move(req), fd);
  return on_some_loop(*impl_,
                      [req = std::move(req), fd](engine& e) mutable { return download_to_on(e, std::move(req), fd); });
}

aio::task<response> session::save_to(request req, std::filesystem::path path) {
  if (impl_->threads.empty()) return save_to_on(impl_->local, std::move(req), std::move(path));
  return on_some_loop(*impl_, [req = std::move(req), path = std::move(path)](engine& e) mutable {
    return save_to_on(e, std::move(req), std::move(path));
  });
}

aio::task<body_stream> session::open(request req, std::size_t buffer_bytes) {
  sink_spec sink;
  sink.mode = sink_mode::stream;
  sink.high_water = buffer_bytes == 0 ? 1 : buffer_bytes;
  auto st = std::make_unique<body_stream::state>();
  st->url = req.url;
  ++impl_->in_flight[0];
  struct count_down {
    std::size_t& n;
    ~count_down() { --n; }
  } done{impl_->in_flight[0]};
  auto opening = run(impl_->local, std::move(req), sink, &st->t);
  response head = co_await std::move(opening);
  co_return body_stream(std::move(st), std::move(head));
}

// ---------------------------------------------------------------------------------------------

body_stream::body_stream(std::unique_ptr<state> s, response head) noexcept
    : state_(std::move(s)), head_(std::move(head)) {}
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
