#include "trident/testing/file_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace trident::testing {

struct file_server::state {
  std::filesystem::path root;
  std::chrono::milliseconds latency{0};
  int listener = -1;
  std::uint16_t port = 0;
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> requests{0};
  std::thread acceptor;
  std::mutex mutex;
  std::vector<std::thread> connections;
  std::vector<int> open_fds;

  void accept_loop() {
    while (!stopping) {
      const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      std::lock_guard lock(mutex);
      open_fds.push_back(fd);
      connections.emplace_back([this, fd] { serve(fd); });
    }
  }

  void serve(int fd) {
    std::string request;
    char buffer[4096];
    while (request.find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) return;
      request.append(buffer, static_cast<std::size_t>(n));
    }
    ++requests;
    const auto start = request.find(' ') + 2;
    const std::string name = request.substr(start, request.find(' ', start) - start);
    std::string body, status = "200 OK";
    const auto path = root / name;
    if (name.empty() || name.find("..") != std::string::npos || !std::filesystem::is_regular_file(path)) {
      status = "404 Not Found";
      body = "no such file\n";
    } else {
      std::ifstream in(path, std::ios::binary);
      body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    if (latency.count() > 0) std::this_thread::sleep_for(latency);
    const std::string reply = "HTTP/1.1 " + status + "\r\nContent-Length: " + std::to_string(body.size()) +
                              "\r\nConnection: close\r\n\r\n" + body;
    for (std::size_t sent = 0; sent < reply.size() && !stopping;) {
      const ssize_t n = ::send(fd, reply.data() + sent, reply.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<std::size_t>(n);
    }
    ::shutdown(fd, SHUT_WR);
  }
};

file_server::file_server(std::filesystem::path root, std::chrono::milliseconds latency)
    : state_(std::make_shared<state>()) {
  state_->root = std::move(root);
  state_->latency = latency;
  state_->listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (state_->listener < 0 || ::bind(state_->listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(state_->listener, 256) != 0 ||
      ::getsockname(state_->listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (state_->listener >= 0) ::close(state_->listener);
    throw std::runtime_error("file_server: cannot listen on 127.0.0.1");
  }
  state_->port = ntohs(addr.sin_port);
  state_->acceptor = std::thread([s = state_.get()] { s->accept_loop(); });
}

file_server::~file_server() {
  state_->stopping = true;
  ::shutdown(state_->listener, SHUT_RDWR);
  state_->acceptor.join();
  ::close(state_->listener);
  std::lock_guard lock(state_->mutex);
  for (int fd : state_->open_fds) ::shutdown(fd, SHUT_RDWR);
  for (auto& t : state_->connections) t.join();
  for (int fd : state_->open_fds) ::close(fd);
}

std::string file_server::url(const std::string& name) const {
  return "http://127.0.0.1:" + std::to_string(state_->port) + "/" + name;
}

std::uint64_t file_server::requests() const noexcept { return state_->requests; }

}  // namespace trident::testing
