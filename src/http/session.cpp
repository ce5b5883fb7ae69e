#include "trident/http/session.hpp"

#include <curl/curl.h>

#include <chrono>
#include <optional>
#include <random>
#include <system_error>

#include "curl_driver.hpp"
#include "transfer.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/core/atomic_file.hpp"

// The session API: a request becomes one transfer per attempt (transfer.cpp), run by the
// session's curl_driver (curl_driver.cpp); `run` below is the retry loop around the attempts.

namespace trident::http {

struct session::impl {
  session_options options;  // `defaults` completed from request_options::builtin()
  curl_driver driver;       // after `options`, which it reads
  std::minstd_rand rng{std::random_device{}()};

  explicit impl(session_options o) : options(complete(std::move(o))), driver(options) {}

  static session_options complete(session_options o) {
    o.defaults = o.defaults.with_defaults(request_options::builtin());
    return o;
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
aio::task<response> run(session::impl& s, request req, sink_spec sink, std::unique_ptr<transfer>* keep) {
  // Field by field: what the request leaves unset comes from the session (whose own unset
  // fields were filled from the built-in defaults when it was made), so every field is set.
  const request_options o = req.options.with_defaults(s.options.defaults);
  const std::string url = build_url(req);
  const bool may_retry = idempotent(req.method) && o.retry->max_attempts > 1;
  const auto started = aio::clock::now();
  for (int attempt = 1;; ++attempt) {
    if (attempt > 1) ++s.driver.statistics().retries;
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

}  // namespace

session::session(session_options options) : impl_(std::make_unique<impl>(std::move(options))) {}
session::~session() = default;

const session_options& session::options() const noexcept { return impl_->options; }
session_statistics session::statistics() const noexcept { return impl_->driver.statistics(); }

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
  // save_to has always replaced an existing file (as curl -o does); trident fetch leaves
  // existing files alone only when asked (--skip-existing), before it calls save_to.
  atomic_file::options file_options;
  file_options.if_exists = atomic_file::existing::replace;
  std::optional<atomic_file> file;
  try {
    file.emplace(path, file_options);
  } catch (const std::system_error& e) {
    throw file_error(e, url);
  }
  sink_spec sink;
  sink.mode = sink_mode::fd;
  sink.fd = file->native_handle();
  sink.file = &*file;
  auto attempts = run(*impl_, std::move(req), sink, nullptr);
  response r = co_await std::move(attempts);
  if (r.status() >= 400) {
    http_status_error e(r.status(), r.url());
    e.set_attempts(r.attempts());
    throw e;  // `file` abandons the partial download
  }
  try {
    file->commit();
  } catch (const std::system_error& e) {
    throw file_error(e, url);
  }
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
