// Links trident::http (and the layers it sits on, nothing else): one GET through an
// http::session, on an event loop, to a one-shot HTTP server on a loopback port.
#include <trident/aio/run.hpp>
#include <trident/aio/task.hpp>
#include <trident/http/response.hpp>
#include <trident/http/session.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <thread>

namespace {

constexpr char body[] = "hello from a loopback server";

// Answers one request on `listener` with `body`, then closes.
void serve_once(int listener) {
  const int client = ::accept(listener, nullptr, nullptr);
  if (client < 0) return;
  std::string request;
  char buffer[4096];
  while (request.find("\r\n\r\n") == std::string::npos) {
    const ssize_t n = ::read(client, buffer, sizeof buffer);
    if (n <= 0) break;
    request.append(buffer, static_cast<std::size_t>(n));
  }
  const std::string reply =
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(sizeof body - 1) +
      "\r\nConnection: close\r\n\r\n" + body;
  for (std::size_t sent = 0; sent < reply.size();) {
    const ssize_t n = ::write(client, reply.data() + sent, reply.size() - sent);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  ::close(client);
}

trident::aio::task<trident::http::response> get(std::string url) {
  trident::http::session session;
  co_return co_await session.get(std::move(url));
}

}  // namespace

int main() {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener, 1) != 0 || ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    std::perror("loopback server");
    return 1;
  }
  std::thread server(serve_once, listener);
  const std::string url = "http://127.0.0.1:" + std::to_string(ntohs(address.sin_port)) + "/hello";
  const trident::http::response response = trident::aio::run(get(url));
  server.join();
  ::close(listener);
  std::printf("trident::http: GET %s -> %d \"%s\"\n", url.c_str(), response.status(), response.body().c_str());
  return response.status() == 200 && response.body() == body ? 0 : 1;
}
