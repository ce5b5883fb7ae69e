#include "trident/testing/http_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

// A deliberately simple blocking server: an accept thread and one thread per connection. The
// faults it injects (resets, short bodies, stalls) are easiest to express as straight-line code
// on a blocking socket. Stopping: a flag plus shutdown() of every socket wakes every blocked
// thread; waits use a condition variable so that a stop interrupts them.

namespace trident::testing {

struct http_server::state {
  int listen_fd = -1;
  int stop_pipe[2] = {-1, -1};  // written once to wake the acceptor
  std::uint16_t port = 0;
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> connections{0};
  std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;            // guarded by mutex
  std::set<int> open_fds;           // guarded by mutex
  std::map<std::string, int> hits;  // per path, guarded by mutex
  // One thread per open connection, by a serial number; a thread whose connection ended puts
  // its number in `finished`, and the acceptor joins those before it starts the next one, so a
  // long-lived server (`trident soak`) does not keep a stack per connection it ever served.
  std::map<std::uint64_t, std::thread> threads;  // guarded by mutex
  std::vector<std::uint64_t> finished;           // guarded by mutex
  std::uint64_t next_thread = 0;                 // guarded by mutex
  std::thread acceptor;

  /// Sleeps `ms` unless the server stops first; returns false when stopping.
  bool pause(long ms) {
    std::unique_lock lock(mutex);
    return !wake.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping; });
  }
  bool stopped() {
    std::lock_guard lock(mutex);
    return stopping;
  }
};

namespace {

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

const char* reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 302:
      return "Found";
    case 404:
      return "Not Found";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

std::string head(int status, std::size_t length, const std::string& extra = {}) {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason(status) + "\r\nContent-Length: " + std::to_string(length) +
         "\r\nContent-Type: text/plain\r\n" + extra + "\r\n";
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    const auto j = path.find('/', i);
    parts.emplace_back(path.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
    if (j == std::string_view::npos) break;
    i = j;
  }
  return parts;
}

long number(const std::vector<std::string>& parts, std::size_t i, long fallback = 0) {
  if (i >= parts.size()) return fallback;
  try {
    return std::stol(parts[i]);
  } catch (...) {
    return fallback;
  }
}

void hard_close(int fd) {
  linger l{1, 0};  // close with RST
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

/// Waits until the client closes `fd` (or resets it) or the server stops; what it sends
/// meanwhile is read and dropped.
void wait_for_client_close(http_server::state& s, int fd) {
  char sink[4096];
  while (!s.stopped()) {
    pollfd p{fd, POLLIN | POLLRDHUP, 0};
    const int r = ::poll(&p, 1, 200);
    if (r < 0 && errno != EINTR) return;
    if (r > 0) {
      const ssize_t n = ::recv(fd, sink, sizeof sink, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) return;
    }
  }
}

/// Serves requests on `fd` until the client closes, a fault ends the connection, or stop.
void serve(http_server::state& s, int fd) {
  std::string buffer;
  char chunk[16 * 1024];
  for (;;) {
    // Read one request head.
    std::size_t end;
    while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
      const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) return;
      buffer.append(chunk, static_cast<std::size_t>(n));
      if (static_cast<unsigned char>(buffer[0]) == 0x16) {  // a TLS ClientHello: answer in plain text
        send_all(fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        return;
      }
      if (buffer.size() > 1 << 20) return;
    }
    const std::string head_text = buffer.substr(0, end);
    buffer.erase(0, end + 4);
    std::string method, target;
    {
      const auto sp1 = head_text.find(' ');
      const auto sp2 = head_text.find(' ', sp1 + 1);
      if (sp1 == std::string::npos || sp2 == std::string::npos) return;
      method = head_text.substr(0, sp1);
      target = head_text.substr(sp1 + 1, sp2 - sp1 - 1);
    }
    std::size_t content_length = 0;
    std::string content_type, x_test;
    for (std::size_t pos = head_text.find("\r\n"); pos != std::string::npos;) {
      const auto next = head_text.find("\r\n", pos + 2);
      const std::string line =
          head_text.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
      pos = next;
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      if (name == "content-length") content_length = std::stoul(value);
      if (name == "content-type") content_type = value;
      if (name == "x-test") x_test = value;
    }
    while (buffer.size() < content_length) {
      const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) return;
      buffer.append(chunk, static_cast<std::size_t>(n));
    }
    const std::string body = buffer.substr(0, content_length);
    buffer.erase(0, content_length);
    s.requests.fetch_add(1, std::memory_order_relaxed);

    const auto q = target.find('?');
    const std::string path = target.substr(0, q);
    const std::string query = q == std::string::npos ? "" : target.substr(q + 1);
    const auto parts = split_path(path);
    const std::string route = parts.empty() ? "" : parts[0];
    const bool is_head = method == "HEAD";
    auto reply = [&](int status, const std::string& text, const std::string& extra = {}) {
      return send_all(fd, head(status, text.size(), extra) + (is_head ? std::string() : text));
    };

    bool ok = true;
    if (route == "text") {
      ok = reply(200, "hello from " + path);
    } else if (route == "files" && parts.size() > 1) {
      ok = reply(200, "content of " + parts[1] + "\n");
    } else if (route == "bytes") {
      const auto n = static_cast<std::size_t>(number(parts, 1));
      ok = send_all(fd, head(200, n, "Content-Type: application/octet-stream\r\n"));
      if (ok && !is_head) {
        const std::string block = pattern(26 * 2048);
        for (std::size_t sent = 0; ok && sent < n; sent += block.size()) {
          ok = send_all(fd, std::string_view(block).substr(0, std::min(block.size(), n - sent)));
        }
      }
    } else if (route == "status") {
      const int status = static_cast<int>(number(parts, 1, 500));
      ok = reply(status, "status " + std::to_string(status) + "\n");
    } else if (route == "delay") {
      if (!s.pause(number(parts, 1))) return;
      ok = reply(200, "delayed\n");
    } else if (route == "flaky") {
      int hit;
      {
        std::lock_guard lock(s.mutex);
        hit = ++s.hits[path];
      }
      const long failures = number(parts, 1);
      const int status = static_cast<int>(number(parts, 2, 503));
      if (hit <= failures) {
        const std::string extra = parts.size() > 3 ? "Retry-After: " + parts[3] + "\r\n" : "";
        ok = reply(status, "try again\n", extra);
      } else {
        ok = reply(200, "ok\n");
      }
    } else if (route == "faulty") {
      // Cycles of K + 1 requests per path: K faults, then one success.
      int hit;
      const long failures = std::max(0L, number(parts, 1));
      {
        std::lock_guard lock(s.mutex);
        int& count = s.hits[path];
        hit = count;
        count = static_cast<int>((count + 1) % (failures + 1));
      }
      const std::string kind = parts.size() > 2 ? parts[2] : "503";
      if (hit < failures && kind == "reset") {
        send_all(fd, head(200, 2 * 64) + pattern(64));
        s.pause(50);  // let the bytes leave before the reset
        hard_close(fd);
        return;
      }
      if (hit < failures && kind == "stall") {
        send_all(fd, head(200, 2 * 64) + pattern(64));
        wait_for_client_close(s, fd);
        return;
      }
      if (hit < failures) {
        const int status = static_cast<int>(number(parts, 2, 503));
        ok = reply(status, "try again\n");
      } else {
        ok = reply(200, "ok\n");
      }
    } else if (route == "reset") {
      const auto n = static_cast<std::size_t>(number(parts, 1));
      send_all(fd, head(200, 2 * n) + pattern(n));
      s.pause(50);  // let the bytes leave before the reset
      hard_close(fd);
      return;
    } else if (route == "short") {
      const auto n = static_cast<std::size_t>(number(parts, 1));
      send_all(fd, head(200, n + 100) + pattern(n));
      ::shutdown(fd, SHUT_WR);
      return;
    } else if (route == "drip") {
      const auto n = static_cast<std::size_t>(number(parts, 1));
      const long ms = number(parts, 2, 10);
      ok = send_all(fd, head(200, n));
      const std::string bytes = pattern(n);
      for (std::size_t i = 0; ok && i < n; ++i) {
        if (!s.pause(ms)) return;
        ok = send_all(fd, std::string_view(bytes).substr(i, 1));
      }
    } else if (route == "stall") {
      const auto n = static_cast<std::size_t>(number(parts, 1));
      send_all(fd, head(200, 2 * n) + pattern(n));
      while (s.pause(1000)) {}
      return;
    } else if (route == "redirect") {
      const long n = number(parts, 1);
      if (n <= 0) {
        ok = reply(200, "arrived\n");
      } else {
        ok = reply(302, "moved\n", "Location: /redirect/" + std::to_string(n - 1) + "\r\n");
      }
    } else if (route == "loop") {
      ok = reply(302, "again\n", "Location: /loop\r\n");
    } else if (route == "echo") {
      ok = reply(200, "method=" + method + "\nquery=" + query + "\ncontent-type=" + content_type +
                          "\nx-test=" + x_test + "\nbody=" + body + "\n");
    } else if (route == "hang") {
      while (s.pause(1000)) {}
      return;
    } else if (route == "close") {
      return;
    } else {
      ok = reply(404, "not found: " + path + "\n");
    }
    if (!ok) return;
  }
}

}  // namespace

http_server::http_server() : state_(std::make_shared<state>()) {
  auto& s = *state_;
  s.listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s.listen_fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  const int one = 1;
  ::setsockopt(s.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(s.listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(s.listen_fd, 512) != 0) {
    const int e = errno;
    ::close(s.listen_fd);
    throw std::system_error(e, std::generic_category(), "bind/listen on 127.0.0.1");
  }
  socklen_t len = sizeof addr;
  ::getsockname(s.listen_fd, reinterpret_cast<sockaddr*>(&addr), &len);
  s.port = ntohs(addr.sin_port);
  if (::pipe2(s.stop_pipe, O_CLOEXEC) != 0) {
    const int e = errno;
    ::close(s.listen_fd);
    throw std::system_error(e, std::generic_category(), "pipe2");
  }
  s.acceptor = std::thread([st = state_] {
    for (;;) {
      pollfd p[2] = {{st->listen_fd, POLLIN, 0}, {st->stop_pipe[0], POLLIN, 0}};
      const int r = ::poll(p, 2, -1);
      if (st->stopped()) return;
      if (r <= 0) continue;
      const int fd = ::accept4(st->listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      const int on = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
      st->connections.fetch_add(1, std::memory_order_relaxed);
      std::vector<std::thread> ended;
      {
        std::lock_guard lock(st->mutex);
        if (st->stopping) {
          ::close(fd);
          return;
        }
        for (const std::uint64_t id : st->finished) {
          auto it = st->threads.find(id);
          ended.push_back(std::move(it->second));
          st->threads.erase(it);
        }
        st->finished.clear();
        st->open_fds.insert(fd);
        const std::uint64_t id = st->next_thread++;
        st->threads.emplace(id, std::thread([st, fd, id] {
                              serve(*st, fd);
                              std::lock_guard inner(st->mutex);
                              st->open_fds.erase(fd);
                              ::close(fd);
                              st->finished.push_back(id);
                            }));
      }
      for (auto& t : ended) t.join();  // each has left serve(): only its return is left
    }
  });
}

http_server::~http_server() {
  auto& s = *state_;
  {
    std::lock_guard lock(s.mutex);
    s.stopping = true;
    for (int fd : s.open_fds) ::shutdown(fd, SHUT_RDWR);
  }
  s.wake.notify_all();
  [[maybe_unused]] auto n = ::write(s.stop_pipe[1], "x", 1);
  s.acceptor.join();
  ::close(s.stop_pipe[0]);
  ::close(s.stop_pipe[1]);
  std::map<std::uint64_t, std::thread> threads;
  {
    std::lock_guard lock(s.mutex);
    threads.swap(s.threads);
  }
  for (auto& [id, t] : threads) t.join();
  ::close(s.listen_fd);
}

std::uint16_t closed_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    const int e = errno;
    ::close(fd);
    throw std::system_error(e, std::generic_category(), "bind on 127.0.0.1");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

std::uint16_t http_server::port() const noexcept { return state_->port; }
std::string http_server::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(state_->port) + path;
}
std::uint64_t http_server::requests() const noexcept { return state_->requests.load(std::memory_order_relaxed); }
std::uint64_t http_server::connections() const noexcept { return state_->connections.load(std::memory_order_relaxed); }

}  // namespace trident::testing
