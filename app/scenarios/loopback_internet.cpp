// The loopback internet: a stateless HTTP/1.1 server whose URLs say what to answer and how late,
// run as a scenario service on Trident's own event loop.

#include "loopback_internet.hpp"

#include <fmt/format.h>
#include <signal.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <exception>
#include <iterator>
#include <numbers>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "content_hash.hpp"
#include "seeded_random.hpp"
#include "trident/aio/event_loop.hpp"
#include "trident/aio/lowlevel/io_handle.hpp"
#include "trident/aio/lowlevel/io_wait.hpp"
#include "trident/aio/run.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/aio/tcp_server.hpp"
#include "trident/aio/tcp_stream.hpp"
#include "trident/core/open_file_limit.hpp"
#include "trident/proc/process.hpp"
#include "trident/proc/queue.hpp"
#include "trident/proc/task_registry.hpp"

namespace trident::scenarios {
namespace {

/// Longest request head accepted (request line and headers).
constexpr std::size_t max_head_bytes = 16 * 1024;
/// Longest request body read and discarded (the server's URLs take none).
constexpr std::size_t max_request_body = 1 << 20;

const char* reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Content Too Large";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Status";
  }
}

/// What the server answers to one request.
struct reply {
  int status = 200;
  std::string content_type = "text/html; charset=utf-8";
  std::string body;
  unsigned delay_ms = 0;
};

reply error_reply(int status, std::string_view why) {
  reply r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = fmt::format("{} {}: {}\n", status, reason_phrase(status), why);
  return r;
}

/// The whole of `text` as a number, or nothing.
template <class T>
bool parse_number(std::string_view text, T& out) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  if (const auto query = path.find('?'); query != std::string_view::npos) path = path.substr(0, query);
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const auto slash = path.find('/');
    parts.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash);
  }
  return parts;
}

/// Connection counters of this server process (one thread: plain integers).
struct connection_counters {
  std::uint64_t accepted = 0;
  std::uint64_t open = 0;
  std::uint64_t most_open = 0;
};
connection_counters counters;

/// The answer to `target`; the body is made here, the delay is left to the caller.
reply route(std::string_view target) {
  const auto parts = split_path(target);
  if (parts.empty()) return error_reply(404, "try /page/ID/MS/BYTES, /status/CODE/ID/MS or /data/ID/MS/ROWS");
  const std::string_view kind = parts[0];
  if (kind == "stats" && parts.size() == 1) {
    reply r;
    r.content_type = "text/plain; charset=utf-8";
    r.body = fmt::format("accepted {}\nopen {}\nmost_open {}\n", counters.accepted, counters.open, counters.most_open);
    return r;
  }
  std::uint64_t id = 0;
  unsigned delay = 0;
  if (kind == "page") {
    std::size_t bytes = 0;
    if (parts.size() != 4 || !parse_number(parts[1], id) || !parse_number(parts[2], delay) ||
        !parse_number(parts[3], bytes)) {
      return error_reply(400, "expected /page/ID/MS/BYTES with three numbers");
    }
    if (delay > max_delay_ms || bytes > max_page_bytes) return error_reply(400, "delay or size too large");
    reply r;
    r.body = page_body(id, bytes);
    r.delay_ms = delay;
    return r;
  }
  if (kind == "status") {
    int code = 0;
    if (parts.size() != 4 || !parse_number(parts[1], code) || !parse_number(parts[2], id) ||
        !parse_number(parts[3], delay)) {
      return error_reply(400, "expected /status/CODE/ID/MS with three numbers");
    }
    if (code < 200 || code > 599 || delay > max_delay_ms) return error_reply(400, "status or delay out of range");
    reply r;
    r.status = code;
    r.body = fmt::format(
        "<!doctype html>\n<html><head><title>{0} {1}</title></head>\n<body><h1>{0} {1}</h1>"
        "<p>Page {2} answers {0}.</p></body></html>\n",
        code, reason_phrase(code), id);
    r.delay_ms = delay;
    return r;
  }
  if (kind == "data") {
    std::size_t rows = 0;
    if (parts.size() != 4 || !parse_number(parts[1], id) || !parse_number(parts[2], delay) ||
        !parse_number(parts[3], rows)) {
      return error_reply(400, "expected /data/ID/MS/ROWS with three numbers");
    }
    if (delay > max_delay_ms || rows > max_dataset_rows) return error_reply(400, "delay or rows too large");
    reply r;
    r.content_type = "text/csv; charset=utf-8";
    r.body = dataset_body(id, rows);
    r.delay_ms = delay;
    return r;
  }
  return error_reply(404, "no such route");
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

/// A parsed request head.
struct request_head {
  std::string method;
  std::string target;
  bool close = false;              ///< Close the connection after the response.
  std::size_t content_length = 0;  ///< Body bytes to read and discard.
  std::string error;               ///< Non-empty: answer 400 with it and close.
};

request_head parse_head(std::string_view head) {
  request_head req;
  const auto line_end = head.find("\r\n");
  const std::string_view first = head.substr(0, line_end);
  const auto sp1 = first.find(' ');
  const auto sp2 = sp1 == std::string_view::npos ? sp1 : first.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) {
    req.error = "malformed request line";
    req.close = true;
    return req;
  }
  req.method = std::string(first.substr(0, sp1));
  req.target = std::string(first.substr(sp1 + 1, sp2 - sp1 - 1));
  const std::string_view version = first.substr(sp2 + 1);
  req.close = version != "HTTP/1.1";
  std::string_view rest = line_end == std::string_view::npos ? std::string_view() : head.substr(line_end + 2);
  while (!rest.empty()) {
    const auto end = rest.find("\r\n");
    const std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 2);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trim(line.substr(colon + 1));
    if (equals_ignoring_case(name, "connection")) {
      if (equals_ignoring_case(value, "close")) req.close = true;
      if (equals_ignoring_case(value, "keep-alive")) req.close = false;
    } else if (equals_ignoring_case(name, "content-length")) {
      if (!parse_number(value, req.content_length)) {
        req.error = "bad Content-Length";
        req.close = true;
      }
    } else if (equals_ignoring_case(name, "transfer-encoding")) {
      req.error = "request bodies in chunks are not accepted";
      req.close = true;
    }
  }
  return req;
}

/// Serves one connection: requests in turn (HTTP/1.1 keep-alive) until the client closes.
aio::task<void> serve_connection(aio::tcp_stream stream) {
  ++counters.accepted;
  counters.most_open = std::max(counters.most_open, ++counters.open);
  struct leaving {
    ~leaving() { --counters.open; }
  } count_while_open;
  try {
    for (;;) {
      const std::string_view end_of_head = "\r\n\r\n";
      const std::size_t head_limit = max_head_bytes;
      const std::string head = co_await stream.read_until(end_of_head, head_limit);
      const auto arrived = aio::event_loop::running().now();
      request_head req = parse_head(head);
      if (req.error.empty() && req.content_length > max_request_body) {
        req.error = "request body too large";
        req.close = true;
      }
      if (req.error.empty() && req.content_length > 0) {
        const std::size_t length = req.content_length;
        const std::string discarded = co_await stream.read_exactly(length);
        (void)discarded;
      }
      reply r;
      if (!req.error.empty()) {
        r = error_reply(400, req.error);
      } else if (req.method != "GET" && req.method != "HEAD") {
        r = error_reply(405, "only GET and HEAD");
      } else {
        r = route(req.target);
      }
      // The delay counts from the request's arrival, so making the body does not lengthen it.
      if (r.delay_ms > 0) {
        const auto due = arrived + std::chrono::milliseconds(r.delay_ms);
        co_await aio::sleep_until(due);
      }
      stream.write(fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{}\r\n", r.status,
                               reason_phrase(r.status), r.content_type, r.body.size(),
                               req.close ? "Connection: close\r\n" : ""));
      if (req.method != "HEAD") stream.write(r.body);
      co_await stream.drain();
      if (req.close) break;
    }
  } catch (const aio::incomplete_read_error&) {
    // The client closed the connection (between requests, as keep-alive clients do).
  } catch (const aio::limit_overrun_error&) {
    // A request head past the limit: not HTTP we serve; drop the connection.
  } catch (const std::system_error&) {
    // Reset by the client (a cancelled transfer closes its connection).
  }
  stream.close();
}

/// Serves until the starter releases the service (its release descriptor turns readable).
aio::task<void> serve_until_released(proc::queue<std::string>& lines) {
  const std::string host = "127.0.0.1";
  aio::tcp_server::handler handler = &serve_connection;
  aio::tcp_server server = co_await aio::start_server(handler, host, 0, 4096);
  report(lines, "port " + std::to_string(server.port()));
  aio::event_loop& loop = aio::event_loop::running();
  aio::lowlevel::io_handle life;
  life.fd = proc::release_descriptor();
  loop.add_io(life);
  co_await aio::lowlevel::wait_readable(life);
  loop.remove_io(life);
  server.close();
}

void loopback_internet_service(proc::queue<std::string> lines, std::vector<std::string>) {
  ::signal(SIGPIPE, SIG_IGN);
  // One descriptor per connection: take what the hard limit allows.
  (void)raise_open_file_limit();
  try {
    aio::event_loop loop;
    aio::run_until_complete(loop, serve_until_released(lines));
  } catch (const std::exception& e) {
    report(lines, std::string("error: ") + e.what());  // the starter's error message
  }
}
TRIDENT_TASK(loopback_internet_service);

}  // namespace

std::string page_path(std::uint64_t id, unsigned delay_ms, std::size_t bytes) {
  return fmt::format("/page/{}/{}/{}", id, delay_ms, bytes);
}

std::string status_path(int code, std::uint64_t id, unsigned delay_ms) {
  return fmt::format("/status/{}/{}/{}", code, id, delay_ms);
}

std::string dataset_path(std::uint64_t id, unsigned delay_ms, std::size_t rows) {
  return fmt::format("/data/{}/{}/{}", id, delay_ms, rows);
}

std::string page_body(std::uint64_t id, std::size_t bytes) {
  static constexpr std::array<std::string_view, 32> words{
      "the",    "event",   "loop",   "thread",   "process", "queue", "socket",  "future", "await",  "request", "server",
      "page",   "latency", "worker", "pool",     "memory",  "lock",  "channel", "task",   "result", "timeout", "cancel",
      "gather", "session", "kernel", "schedule", "core",    "cache", "signal",  "pipe",   "stream", "buffer"};
  std::string out =
      fmt::format("<!doctype html>\n<html><head><title>Page {0}</title></head>\n<body>\n<h1>Page {0}</h1>\n", id);
  constexpr std::string_view tail = "\n</body></html>\n";
  out.reserve(bytes + 512);
  seeded_random random(mix64(id ^ 0x7061676500000000ULL));
  while (out.size() + tail.size() < bytes) {
    out += "<p>";
    const std::uint64_t length = 12 + random.next() % 48;
    for (std::uint64_t w = 0; w < length; ++w) {
      if (w > 0) out += ' ';
      out += words[random.next() % words.size()];
    }
    out += ".</p>\n";
  }
  out.resize(bytes > tail.size() ? bytes - tail.size() : 0);
  out.append(tail.substr(0, bytes - out.size()));
  return out;
}

std::string dataset_body(std::uint64_t id, std::size_t rows) {
  std::string out = "t,value\n";
  out.reserve(8 + rows * 22);
  seeded_random random(mix64(id ^ 0x6461746100000000ULL));
  // A sensor-like series: a random walk, a daily cycle (one row a minute) and noise.
  double level = (random.uniform() - 0.5) * 200;
  const double amplitude = 5 + random.uniform() * 20;
  const double phase = random.uniform() * 2 * std::numbers::pi;
  constexpr std::int64_t start = 1'700'000'000;
  auto sink = std::back_inserter(out);
  for (std::size_t i = 0; i < rows; ++i) {
    level += (random.uniform() - 0.5) * 0.1;
    const double cycle = amplitude * std::sin(phase + 2 * std::numbers::pi * static_cast<double>(i % 1440) / 1440.0);
    const double noise = (random.uniform() - 0.5) * 3;
    fmt::format_to(sink, "{},{:.4f}\n", start + static_cast<std::int64_t>(i) * 60, level + cycle + noise);
  }
  return out;
}

loopback_internet::loopback_internet() : service_(&loopback_internet_service, {}, std::chrono::seconds(10)) {
  const std::string line = service_.read_line(std::chrono::seconds(30));
  std::uint16_t port = 0;
  if (line.rfind("port ", 0) != 0 || !parse_number(std::string_view(line).substr(5), port) || port == 0) {
    throw std::runtime_error("the loopback internet did not start: " + line);
  }
  port_ = port;
  base_url_ = "http://127.0.0.1:" + std::to_string(port_);
}

}  // namespace trident::scenarios
