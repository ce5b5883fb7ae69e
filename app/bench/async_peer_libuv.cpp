// The `async` suite's workloads in libuv, written as its documentation (the uvbook) shows: a
// uv_loop_t run on this thread, callbacks on uv_timer_t and uv_tcp_t handles, uv_read_start and
// uv_write. libuv has no coroutines, so a sleeper is a bare timer and there is no gather or
// ready_await.

#include <arpa/inet.h>
#include <unistd.h>
#include <uv.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "async_peers.hpp"
#include "report.hpp"

namespace trident::bench::libuv_peer {
namespace {

/// Throws for a negative libuv status.
void ok(int status, const char* what) {
  if (status < 0) throw std::runtime_error(fmt::format("libuv: {}: {}", what, ::uv_strerror(status)));
}

/// A uv_loop_t of its own, closed (after its handles) at the end of the scope.
class loop {
 public:
  loop() { ok(::uv_loop_init(&loop_), "uv_loop_init"); }
  loop(const loop&) = delete;
  loop& operator=(const loop&) = delete;
  ~loop() {
    ::uv_walk(
        &loop_,
        [](uv_handle_t* h, void*) {
          if (::uv_is_closing(h) == 0) ::uv_close(h, nullptr);
        },
        nullptr);
    (void)::uv_run(&loop_, UV_RUN_DEFAULT);
    (void)::uv_loop_close(&loop_);
  }
  uv_loop_t* get() noexcept { return &loop_; }

 private:
  uv_loop_t loop_;
};

// -- sleepers ----------------------------------------------------------------------------------

void on_sleeper_fired(uv_timer_t* timer) {
  ++*static_cast<std::size_t*>(timer->data);
  ::uv_close(reinterpret_cast<uv_handle_t*>(timer), nullptr);
}

// -- tcp_echo: client --------------------------------------------------------------------------

struct echo_client {
  uv_tcp_t tcp;
  uv_connect_t connect;
  uv_write_t write;
  /// `write` is in use until its callback has run, which may come after the echo was read (a
  /// write that completes at once still reports in the next loop iteration): the next message
  /// waits for both.
  bool writing = false;
  bool send_waiting = false;
  std::string message;
  std::string back;
  std::size_t got = 0;
  std::chrono::steady_clock::time_point end;
  std::uint64_t* round_trips = nullptr;
  std::string error;  ///< The first failure, if any.
  bool closed = false;
};

void client_close(echo_client* c, std::string error = {}) {
  if (c->error.empty()) c->error = std::move(error);
  if (::uv_is_closing(reinterpret_cast<uv_handle_t*>(&c->tcp)) == 0) {
    ::uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp),
               [](uv_handle_t* h) { static_cast<echo_client*>(h->data)->closed = true; });
  }
}

void client_send(echo_client* c);

void client_alloc(uv_handle_t* h, std::size_t, uv_buf_t* buf) {
  auto* c = static_cast<echo_client*>(h->data);
  *buf = ::uv_buf_init(c->back.data() + c->got, static_cast<unsigned>(c->back.size() - c->got));
}

void client_read(uv_stream_t* s, ssize_t nread, const uv_buf_t*) {
  auto* c = static_cast<echo_client*>(s->data);
  if (nread < 0) return client_close(c, fmt::format("read: {}", ::uv_strerror(static_cast<int>(nread))));
  c->got += static_cast<std::size_t>(nread);
  if (c->got < c->back.size()) return;
  if (c->back != c->message) return client_close(c, "tcp_echo/libuv echoed bytes differ");
  ++*c->round_trips;
  c->got = 0;
  if (std::chrono::steady_clock::now() < c->end) {
    if (c->writing) {
      c->send_waiting = true;
    } else {
      client_send(c);
    }
  } else {
    client_close(c);
  }
}

void client_send(echo_client* c) {
  uv_buf_t buf = ::uv_buf_init(c->message.data(), static_cast<unsigned>(c->message.size()));
  c->writing = true;
  const auto written = [](uv_write_t* req, int status) {
    auto* client = static_cast<echo_client*>(req->handle->data);
    client->writing = false;
    if (status < 0) return client_close(client, fmt::format("write: {}", ::uv_strerror(status)));
    if (std::exchange(client->send_waiting, false)) client_send(client);
  };
  const int rc = ::uv_write(&c->write, reinterpret_cast<uv_stream_t*>(&c->tcp), &buf, 1, written);
  if (rc < 0) {
    c->writing = false;
    client_close(c, fmt::format("uv_write: {}", ::uv_strerror(rc)));
  }
}

void client_connected(uv_connect_t* req, int status) {
  auto* c = static_cast<echo_client*>(req->handle->data);
  if (status < 0) return client_close(c, fmt::format("connect: {}", ::uv_strerror(status)));
  (void)::uv_tcp_nodelay(&c->tcp, 1);
  const int rc = ::uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), client_alloc, client_read);
  if (rc < 0) return client_close(c, fmt::format("uv_read_start: {}", ::uv_strerror(rc)));
  client_send(c);
}

// -- tcp_echo: server (the uvbook's echo server) -----------------------------------------------

struct write_req {
  uv_write_t req;
  uv_buf_t buf;
};

void free_buffer_alloc(uv_handle_t*, std::size_t suggested_size, uv_buf_t* buf) {
  *buf = ::uv_buf_init(static_cast<char*>(std::malloc(suggested_size)), static_cast<unsigned>(suggested_size));
}

void close_and_free(uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); }

void echo_written(uv_write_t* req, int) {
  auto* w = reinterpret_cast<write_req*>(req);
  std::free(w->buf.base);
  delete w;
}

void echo_read(uv_stream_t* client, ssize_t nread, const uv_buf_t* buf) {
  if (nread > 0) {
    auto* w = new write_req;
    w->buf = ::uv_buf_init(buf->base, static_cast<unsigned>(nread));
    if (::uv_write(&w->req, client, &w->buf, 1, echo_written) < 0) {
      std::free(buf->base);
      delete w;
      ::uv_close(reinterpret_cast<uv_handle_t*>(client), close_and_free);
    }
    return;
  }
  if (nread < 0) ::uv_close(reinterpret_cast<uv_handle_t*>(client), close_and_free);  // UV_EOF or an error
  std::free(buf->base);
}

void on_new_connection(uv_stream_t* server, int status) {
  if (status < 0) return;
  auto* client = new uv_tcp_t;
  ::uv_tcp_init(server->loop, client);
  if (::uv_accept(server, reinterpret_cast<uv_stream_t*>(client)) == 0) {
    (void)::uv_tcp_nodelay(client, 1);
    ::uv_read_start(reinterpret_cast<uv_stream_t*>(client), free_buffer_alloc, echo_read);
  } else {
    ::uv_close(reinterpret_cast<uv_handle_t*>(client), close_and_free);
  }
}

}  // namespace

double sleepers(std::size_t n) {
  loop l;
  std::size_t fired = 0;
  stopwatch clock;  // from before the timers' allocation, as Trident's includes its handles'
  std::vector<uv_timer_t> timers(n);
  for (auto& t : timers) {
    ok(::uv_timer_init(l.get(), &t), "uv_timer_init");
    t.data = &fired;
    // A timer's timeout counts from the loop's cached time: bring it up to now, so every timer
    // waits its full second from when it is started, as a sleeping task does.
    ::uv_update_time(l.get());
    ok(::uv_timer_start(&t, on_sleeper_fired, 1000, 0), "uv_timer_start");
  }
  ok(::uv_run(l.get(), UV_RUN_DEFAULT), "uv_run");
  const double s = clock.seconds() - 1.0;
  check(fired == n, "sleepers/libuv: every timer fired");
  return s;
}

double tcp_echo(const echo_parameters& p) {
  loop l;
  sockaddr_in server{};
  ok(::uv_ip4_addr("127.0.0.1", p.port, &server), "uv_ip4_addr");
  std::uint64_t round_trips = 0;
  std::vector<std::unique_ptr<echo_client>> clients;
  stopwatch clock;
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                          std::chrono::duration<double>(p.seconds));
  for (std::size_t i = 0; i < p.connections; ++i) {
    auto c = std::make_unique<echo_client>();
    c->message.assign(p.message_bytes, 'x');
    c->back.assign(p.message_bytes, '\0');
    c->end = end;
    c->round_trips = &round_trips;
    ok(::uv_tcp_init(l.get(), &c->tcp), "uv_tcp_init");
    c->tcp.data = c.get();
    ok(::uv_tcp_connect(&c->connect, &c->tcp, reinterpret_cast<const sockaddr*>(&server), client_connected),
       "uv_tcp_connect");
    clients.push_back(std::move(c));
  }
  ok(::uv_run(l.get(), UV_RUN_DEFAULT), "uv_run");
  const double s = clock.seconds();
  for (const auto& c : clients) {
    if (!c->error.empty()) throw std::runtime_error("tcp_echo/libuv: " + c->error);
    check(c->closed, "tcp_echo/libuv: every client finished");
  }
  check(round_trips > 0, "tcp_echo/libuv round trips");
  return static_cast<double>(round_trips) / s;
}

int serve_echo() {
  loop l;
  uv_tcp_t server;
  ok(::uv_tcp_init(l.get(), &server), "uv_tcp_init");
  sockaddr_in addr{};
  ok(::uv_ip4_addr("127.0.0.1", 0, &addr), "uv_ip4_addr");
  ok(::uv_tcp_bind(&server, reinterpret_cast<const sockaddr*>(&addr), 0), "uv_tcp_bind");
  ok(::uv_listen(reinterpret_cast<uv_stream_t*>(&server), 128, on_new_connection), "uv_listen");
  sockaddr_in bound{};
  int length = sizeof bound;
  ok(::uv_tcp_getsockname(&server, reinterpret_cast<sockaddr*>(&bound), &length), "uv_tcp_getsockname");
  std::printf("%u\n", static_cast<unsigned>(ntohs(bound.sin_port)));
  std::fflush(stdout);
  // Standard input reaching its end (the benchmark closed it) stops the loop.
  uv_pipe_t in;
  ok(::uv_pipe_init(l.get(), &in, 0), "uv_pipe_init");
  ok(::uv_pipe_open(&in, STDIN_FILENO), "uv_pipe_open");
  ok(::uv_read_start(reinterpret_cast<uv_stream_t*>(&in), free_buffer_alloc,
                     [](uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
                       std::free(buf->base);
                       if (nread < 0) ::uv_stop(s->loop);
                     }),
     "uv_read_start");
  ok(::uv_run(l.get(), UV_RUN_DEFAULT), "uv_run");
  return 0;
}

}  // namespace trident::bench::libuv_peer
