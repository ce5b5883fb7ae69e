#include "transfer.hpp"

#include <strings.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <string_view>

#include "curl_driver.hpp"

// A transfer's life: `configure` takes an easy handle from the session's curl_driver and sets
// every per-request option; the driver runs it; libcurl fills it through `on_header` and
// `on_write` (which only record, write and schedule: never resume a task); the requesting task
// wakes from `transfer_wait` and reads the result. In stream mode `on_write` holds at most about
// `high_water` bytes and then pauses the transfer (CURL_WRITEFUNC_PAUSE: libcurl keeps the
// chunk), until body_stream::next() hands the held bytes out and unpauses it.

namespace trident::http {

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

void transfer_wait::on_cancel(void* arg) noexcept {
  auto* self = static_cast<transfer_wait*>(arg);
  transfer& t = self->t_;
  if (!t.waiter) return;  // already scheduled by the transfer
  if (t.owner != nullptr) t.owner->stop(t);
  curl_driver::notify(t);
}

namespace {

// A body kept in memory is sized once from its Content-Length, when the server sent one,
// instead of growing by doubling: up to half the string's memory was slack at 200 bodies in
// flight. Capped, so that a length no body will reach costs no more than a few doublings would
// have; a longer body grows from there as before.
constexpr curl_off_t body_reserve_cap = 8 * 1024 * 1024;

void reserve_body(transfer& t, curl_off_t length) noexcept {
  if (t.mode != sink_mode::memory || length <= 0) return;
  curl_off_t want = std::min(length, body_reserve_cap);
  if (t.max_body != 0) want = std::min(want, static_cast<curl_off_t>(t.max_body));
  try {
    t.body.reserve(static_cast<std::size_t>(want));
  } catch (...) {  // growing as the bytes come is still possible
  }
}

std::size_t on_write(char* data, std::size_t size, std::size_t count, void* userp) noexcept {
  auto& t = *static_cast<transfer*>(userp);
  const std::size_t n = size * count;
  if (!t.body_started) {
    t.body_started = true;
    curl_off_t length = -1;
    curl_easy_getinfo(t.easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    if (t.on_body_start) t.on_body_start(static_cast<std::int64_t>(length));
    reserve_body(t, length);
  }
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
      curl_driver::notify(t);
      break;
  }
  t.received += n;
  if (t.owner != nullptr) t.owner->counters().count_body_bytes(n);
  if (t.on_bytes) t.on_bytes(n);
  return n;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* userp) noexcept {
  auto& t = *static_cast<transfer*>(userp);
  const std::size_t n = size * count;
  try {
    detail::read_header_line(std::string_view(data, n), t.response_headers);
  } catch (...) {
    return 0;
  }
  return n;
}

std::string version_name(long v) {
  switch (v) {
    case CURL_HTTP_VERSION_1_0:
      return "1.0";
    case CURL_HTTP_VERSION_1_1:
      return "1.1";
    case CURL_HTTP_VERSION_2_0:
      return "2";
    case CURL_HTTP_VERSION_3:
      return "3";
    default:
      return "";
  }
}

}  // namespace

namespace detail {

void read_header_line(std::string_view raw, response::header_list& headers) {
  const std::string_view line = trim(raw);
  if (line.starts_with("HTTP/")) {
    headers.clear();  // a new response (after a redirect or 100 Continue)
  } else if (const auto colon = line.find(':'); colon != std::string_view::npos && colon > 0) {
    headers.emplace_back(std::string(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1))));
  }
}

}  // namespace detail

void set_constant_options(CURL* e, const session_options& options) noexcept {
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &on_write);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");  // every encoding libcurl can decode
  // Proxies only when asked for: the environment's http_proxy is not used behind the
  // program's back (aiohttp's trust_env=False).
  curl_easy_setopt(e, CURLOPT_PROXY, options.proxy.c_str());
}

void configure(curl_driver& driver, transfer& t, const request& req, const request_options& o, const std::string& url,
               const sink_spec& sink) {
  t.owner = &driver;
  t.easy = driver.take_easy();
  t.mode = sink.mode;
  t.fd = sink.fd;
  t.high_water = sink.high_water;
  t.max_body = *o.max_body_bytes;
  t.on_bytes = o.on_body_bytes;
  t.on_body_start = o.on_body_start;
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
  // Per transfer: libcurl allocates this buffer when the transfer starts and frees it when it
  // ends, so a pooled handle takes each request's own size.
  curl_easy_setopt(e, CURLOPT_BUFFERSIZE, static_cast<long>(std::min<std::size_t>(*o.receive_buffer_bytes, 1u << 30)));
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
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, driver.default_headers());
  } else {
    bool own_agent = false;
    for (const auto& h : req.headers) own_agent = own_agent || ::strcasecmp(h.first.c_str(), "User-Agent") == 0;
    if (!own_agent) add_header("User-Agent: " + driver.options().user_agent);
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
  response r(static_cast<int>(status), effective != nullptr ? effective : "", std::move(t.response_headers),
             std::move(body));
  r.set_body_bytes(t.received);
  r.set_http_version(version_name(version));
  return r;
}

namespace {

error_kind kind_of(CURLcode rc) noexcept {
  switch (rc) {
    case CURLE_URL_MALFORMAT:
      return error_kind::malformed_url;
    case CURLE_UNSUPPORTED_PROTOCOL:
      return error_kind::unsupported_scheme;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return error_kind::dns;
    case CURLE_COULDNT_CONNECT:
      return error_kind::connect;
    case CURLE_OPERATION_TIMEDOUT:
      return error_kind::timeout;
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
    case CURLE_SSL_CRL_BADFILE:
      return error_kind::tls;
    case CURLE_PARTIAL_FILE:
      return error_kind::short_body;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return error_kind::connection;
    case CURLE_TOO_MANY_REDIRECTS:
      return error_kind::too_many_redirects;
    case CURLE_FILESIZE_EXCEEDED:
      return error_kind::body_too_large;
    default:
      return error_kind::other;
  }
}

}  // namespace

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
  // The system's errno too (EMFILE when no socket could be made): callers tell running out of
  // descriptors from a refused connection by it.
  long os_errno = 0;
  if (t.easy != nullptr) curl_easy_getinfo(t.easy, CURLINFO_OS_ERRNO, &os_errno);
  return transfer_error(k, std::string(to_string(k)) + " error for " + url + ": " + detail, url, t.result,
                        static_cast<int>(os_errno));
}

bool rewind(const sink_spec& sink) noexcept {
  if (sink.file == nullptr) return false;
  try {
    sink.file->rewind();
    return true;
  } catch (const std::system_error&) {
    return false;
  }
}

}  // namespace trident::http
