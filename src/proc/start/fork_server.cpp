// The fork server: one exec of the program that forks workers (see fork_server.hpp).
//
// Messages on the owner <-> server socket (SOCK_SEQPACKET, so each is read whole):
//   owner -> server  start_request, with [channel, inherit...] as SCM_RIGHTS
//   server -> owner  server_message: hello once; started (pid or errno) per request, in order;
//                    exited (wait status) per worker, whenever it ends
// One mutex on the owner's side serialises requests; whoever holds it reads whatever messages
// are ready and files the exit statuses, so a status is never lost to another reader.

#include "trident/proc/detail/fork_server.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "trident/proc/errors.hpp"
#include "trident/proc/worker_main.hpp"
#include "trident/proc/worker_usage.hpp"

namespace trident::proc {
namespace detail {

namespace {

constexpr std::size_t max_inherited = 32;
constexpr std::size_t max_servers = 4;  // distinct environments; beyond that, exec

struct start_request {
  std::uint32_t one_shot = 0;
  std::uint32_t inherit_count = 0;
  std::uint64_t memory_limit_bytes = 0;
  std::int32_t wanted[max_inherited] = {};  // the descriptor numbers the worker expects
};

enum class message_kind : std::uint32_t { hello = 1, started = 2, exited = 3 };

struct server_message {
  message_kind kind{};
  std::int32_t pid = -1;
  std::int32_t value = 0;  // started: errno of a failed fork; exited: the wait status
  std::int32_t unused = 0;
  std::int64_t user_us = 0;  // exited: the worker's CPU time, as wait4 reports it
  std::int64_t system_us = 0;
};

std::int64_t microseconds_of(const timeval& t) { return static_cast<std::int64_t>(t.tv_sec) * 1'000'000 + t.tv_usec; }

bool send_message(int socket, message_kind kind, pid_t pid, int value, const rusage* usage = nullptr) {
  server_message m{kind, static_cast<std::int32_t>(pid), value};
  if (usage != nullptr) {
    m.user_us = microseconds_of(usage->ru_utime);
    m.system_us = microseconds_of(usage->ru_stime);
  }
  ssize_t n;
  do {
    n = ::send(socket, &m, sizeof m, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(sizeof m);
}

// ---- the server's side ----

// In the child, after fork: give the inherited descriptors the numbers the worker expects.
void place_inherited(const start_request& request, int* received, int& channel) {
  int top = 3;
  for (std::uint32_t i = 0; i < request.inherit_count; ++i) top = std::max(top, request.wanted[i] + 1);
  // Above every wanted number first, so that no move overwrites a descriptor still to be moved.
  const int moved_channel = ::fcntl(channel, F_DUPFD_CLOEXEC, top);
  ::close(channel);
  channel = moved_channel;
  for (std::uint32_t i = 0; i < request.inherit_count; ++i) {
    const int moved = ::fcntl(received[i], F_DUPFD_CLOEXEC, top);
    ::close(received[i]);
    received[i] = moved;
  }
  for (std::uint32_t i = 0; i < request.inherit_count; ++i) {
    ::dup2(received[i], request.wanted[i]);  // the copy is not close-on-exec, as with spawn
    ::close(received[i]);
  }
}

void report_exits(int socket) {
  int status = 0;
  rusage usage{};
  pid_t pid;
  while ((pid = ::wait4(-1, &status, WNOHANG, &usage)) > 0) {
    (void)send_message(socket, message_kind::exited, pid, status, &usage);
  }
}

}  // namespace

std::optional<forked_worker> serve_fork_requests(int socket) {
  // Ctrl-C on a terminal reaches the whole process group: the server stays for its owner, which
  // decides (it exits when the owner does). Workers get the default back.
  ::signal(SIGINT, SIG_IGN);
  // Named apart from its workers, which share its command line: `ps -o comm` and the tools
  // that measure a process tree (advisor::measure, the tests) tell them apart by this name.
  char program_name[17] = {};
  ::prctl(PR_GET_NAME, program_name);
  ::prctl(PR_SET_NAME, fork_server_process_name);
  sigset_t child_signal;
  sigset_t previous;
  sigemptyset(&child_signal);
  sigaddset(&child_signal, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &child_signal, &previous);
  const int exits = ::signalfd(-1, &child_signal, SFD_CLOEXEC | SFD_NONBLOCK);
  if (exits < 0 || !send_message(socket, message_kind::hello, ::getpid(), 0)) return std::nullopt;

  for (;;) {
    pollfd watched[2] = {{socket, POLLIN, 0}, {exits, POLLIN, 0}};
    if (::poll(watched, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (watched[1].revents != 0) {
      signalfd_siginfo info;
      while (::read(exits, &info, sizeof info) > 0) {}
      report_exits(socket);
    }
    if (watched[0].revents == 0) continue;

    start_request request;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * (max_inherited + 1))];
    iovec io{&request, sizeof request};
    msghdr header{};
    header.msg_iov = &io;
    header.msg_iovlen = 1;
    header.msg_control = control;
    header.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(socket, &header, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the owner is gone: the workers follow through their death signal

    int received[max_inherited + 1];
    std::size_t received_count = 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&header); c != nullptr; c = CMSG_NXTHDR(&header, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (std::size_t i = 0; i < count && received_count < std::size(received); ++i) {
        std::memcpy(&received[received_count++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      }
    }
    if (n != static_cast<ssize_t>(sizeof request) || request.inherit_count > max_inherited ||
        received_count != request.inherit_count + 1) {
      for (std::size_t i = 0; i < received_count; ++i) ::close(received[i]);
      (void)send_message(socket, message_kind::started, -1, EPROTO);
      continue;
    }

    const pid_t server = ::getpid();
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(socket);
      ::close(exits);
      ::signal(SIGINT, SIG_DFL);
      ::sigprocmask(SIG_SETMASK, &previous, nullptr);
      ::prctl(PR_SET_NAME, program_name);
      int channel = received[0];
      place_inherited(request, received + 1, channel);
      return forked_worker{request.one_shot != 0, channel, static_cast<std::size_t>(request.memory_limit_bytes),
                           server};
    }
    const int fork_errno = errno;
    for (std::size_t i = 0; i < received_count; ++i) ::close(received[i]);
    if (!send_message(socket, message_kind::started, pid > 0 ? pid : -1, pid > 0 ? 0 : fork_errno)) break;
  }
  ::close(exits);
  return std::nullopt;
}

// ---- the owner's side ----

namespace {

struct server {
  int socket = -1;
  pid_t pid = -1;
  std::string environment;           // the key: what it was started with
  std::size_t running = 0;           // its workers not yet known to have ended
  std::int64_t workers_user_us = 0;  // CPU time of its ended workers, counted in forked_workers_cpu_time
  std::int64_t workers_system_us = 0;
};

enum class read_result { message, nothing, gone };

struct registry {
  std::recursive_mutex mutex;  // recursive: exec_worker may reap (and so look here) while held
  std::vector<std::unique_ptr<server>> servers;
  std::unordered_map<pid_t, server*> running;           // worker -> its server
  std::unordered_map<pid_t, std::optional<int>> ended;  // worker -> wait status, if known
  std::unordered_map<pid_t, pid_t> lost_with;           // worker -> the server that died with it
  bool unusable = false;                                // no pidfds: exec instead
  pid_t owner = ::getpid();
};

registry& the_registry() {
  static auto* r = new registry;  // never destroyed: workers may be reaped during exit
  return *r;
}

// In a child that the program forked (without exec) after starting servers, the copied sockets
// still lead to the parent's servers: forget them here (closing our copies leaves the parent's
// open), and start this process's own when it needs one. Call with the mutex held.
void forget_after_fork(registry& r) {
  if (r.owner == ::getpid()) return;
  for (auto& s : r.servers) ::close(s->socket);
  r.servers.clear();
  r.running.clear();
  r.ended.clear();
  r.lost_with.clear();
  r.owner = ::getpid();
}

read_result read_message(server& s, bool block, server_message& m) {
  for (;;) {
    const ssize_t n = ::recv(s.socket, &m, sizeof m, block ? 0 : MSG_DONTWAIT);
    if (n == static_cast<ssize_t>(sizeof m)) return read_result::message;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return read_result::nothing;
    return read_result::gone;
  }
}

std::atomic<std::int64_t> workers_user_us{0};
std::atomic<std::int64_t> workers_system_us{0};

// The server has gone (crashed, or was killed, or retired): its workers died with it, their
// statuses with it. Once reaped here, its workers' CPU time counts in RUSAGE_CHILDREN instead.
void forget_server(registry& r, server& s) {
  for (auto it = r.running.begin(); it != r.running.end();) {
    if (it->second == &s) {
      r.ended[it->first] = std::nullopt;
      r.lost_with[it->first] = s.pid;
      it = r.running.erase(it);
    } else {
      ++it;
    }
  }
  ::close(s.socket);
  int status = 0;
  while (::waitpid(s.pid, &status, 0) < 0 && errno == EINTR) {}
  workers_user_us.fetch_sub(s.workers_user_us, std::memory_order_relaxed);
  workers_system_us.fetch_sub(s.workers_system_us, std::memory_order_relaxed);
  std::erase_if(r.servers, [&s](const auto& p) { return p.get() == &s; });
}

void file_exit(registry& r, server& s, const server_message& m) {
  workers_user_us.fetch_add(m.user_us, std::memory_order_relaxed);
  workers_system_us.fetch_add(m.system_us, std::memory_order_relaxed);
  s.workers_user_us += m.user_us;
  s.workers_system_us += m.system_us;
  const auto it = r.running.find(m.pid);
  if (it == r.running.end()) return;  // a worker abandoned at start (see fork_worker)
  --it->second->running;
  r.running.erase(it);
  r.ended[m.pid] = m.value;
}

// Reads every message that is ready; false if the server is gone (and forgotten).
bool drain(registry& r, server& s) {
  server_message m;
  for (;;) {
    switch (read_message(s, false, m)) {
      case read_result::message:
        if (m.kind == message_kind::exited) file_exit(r, s, m);
        break;
      case read_result::nothing:
        return true;
      case read_result::gone:
        forget_server(r, s);
        return false;
    }
  }
}

server& start_server(registry& r, const worker_environment& environment, std::string key,
                     std::chrono::milliseconds start_timeout) {
  started_worker w = exec_worker("fork-server", 0, {}, environment, SOCK_SEQPACKET);
  if (w.pidfd >= 0) ::close(w.pidfd);
  const auto fail = [&w](const std::string& what) {
    ::kill(w.pid, SIGKILL);
    ::close(w.socket);
    int signal = 0;
    int code = 0;
    const std::string how = reap(w.pid, signal, code);
    throw worker_start_error("the worker starter (process " + std::to_string(w.pid) + ") " +
                             (what.empty() ? how + " before its handshake" : what) + "; " + missing_guard_hint());
  };
  pollfd p{w.socket, POLLIN, 0};
  int ready;
  do {
    ready = ::poll(&p, 1, static_cast<int>(std::max<long long>(start_timeout.count(), 1)));
  } while (ready < 0 && errno == EINTR);
  if (ready == 0) fail("did not answer its handshake within " + std::to_string(start_timeout.count()) + " ms");
  server_message m;
  server s{w.socket, w.pid, std::move(key), 0};
  if (read_message(s, true, m) != read_result::message || m.kind != message_kind::hello) fail("");
  r.servers.push_back(std::make_unique<server>(std::move(s)));
  return *r.servers.back();
}

// Closes the servers started for another environment that have no workers left.
void retire_stale(registry& r, const std::string& key) {
  for (std::size_t i = 0; i < r.servers.size();) {
    server& s = *r.servers[i];
    if (s.environment != key && drain(r, s) && s.running == 0) {
      forget_server(r, s);  // end of file: it exits
    } else {
      ++i;
    }
  }
}

bool send_request(const server& s, const start_request& request, int channel, std::span<const int> inherit) {
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * (max_inherited + 1))] = {};
  const std::size_t count = inherit.size() + 1;
  iovec io{const_cast<start_request*>(&request), sizeof request};
  msghdr header{};
  header.msg_iov = &io;
  header.msg_iovlen = 1;
  header.msg_control = control;
  header.msg_controllen = CMSG_SPACE(sizeof(int) * count);
  cmsghdr* c = CMSG_FIRSTHDR(&header);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int) * count);
  std::memcpy(CMSG_DATA(c), &channel, sizeof(int));
  if (!inherit.empty()) std::memcpy(CMSG_DATA(c) + sizeof(int), inherit.data(), sizeof(int) * inherit.size());
  ssize_t n;
  do {
    n = ::sendmsg(s.socket, &header, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(sizeof request);
}

}  // namespace

}  // namespace detail

worker_cpu_time forked_workers_cpu_time() noexcept {
  return {static_cast<double>(detail::workers_user_us.load(std::memory_order_relaxed)) / 1e6,
          static_cast<double>(detail::workers_system_us.load(std::memory_order_relaxed)) / 1e6};
}

namespace detail {

bool fork_server_enabled() {
  const char* choice = std::getenv("TRIDENT_WORKER_START");
  return choice == nullptr || std::string_view(choice) != "exec";
}

std::optional<started_worker> fork_worker(const char* mode, std::size_t memory_limit_bytes,
                                          std::span<const int> inherit, const worker_environment& environment,
                                          std::chrono::milliseconds start_timeout) {
  if (inherit.size() > max_inherited || injected_failure("pidfd_open") != 0) return std::nullopt;
  std::string key;
  for (const char* entry : environment.entries()) {
    key += entry;
    key += '\n';
  }
  start_request request;
  request.one_shot = std::string_view(mode) == "process" ? 1 : 0;
  request.inherit_count = static_cast<std::uint32_t>(inherit.size());
  request.memory_limit_bytes = memory_limit_bytes;
  std::copy(inherit.begin(), inherit.end(), request.wanted);

  registry& r = the_registry();
  std::lock_guard lock(r.mutex);
  forget_after_fork(r);
  if (r.unusable) return std::nullopt;
  retire_stale(r, key);

  // A server that died since its last use is found out by the request; then one new start.
  for (int attempt = 0; attempt < 2; ++attempt) {
    server* s = nullptr;
    for (auto& candidate : r.servers) {
      if (candidate->environment == key) s = candidate.get();
    }
    if (s == nullptr) {
      if (r.servers.size() >= max_servers) return std::nullopt;
      s = &start_server(r, environment, key, start_timeout);
    }
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
      throw worker_start_error(std::string("socketpair: ") + std::strerror(errno));
    }
    const bool sent = send_request(*s, request, pair[1], inherit);
    ::close(pair[1]);
    server_message m;
    bool answered = false;
    while (sent) {
      const read_result got = read_message(*s, true, m);
      if (got != read_result::message) break;
      if (m.kind == message_kind::exited) {
        file_exit(r, *s, m);
      } else if (m.kind == message_kind::started) {
        answered = true;
        break;
      }
    }
    if (!answered) {
      ::close(pair[0]);
      forget_server(r, *s);
      continue;
    }
    if (m.pid < 0) {
      ::close(pair[0]);
      throw worker_start_error(start_failure_message("fork", m.value));
    }
    const pid_t pid = m.pid;
    ++s->running;
    r.running[pid] = s;
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0) {
      // No pidfds (seccomp, valgrind): the exit of a worker that is not our child would go
      // unseen. Abandon this one and execute workers from now on.
      ::kill(pid, SIGKILL);
      --s->running;
      r.running.erase(pid);
      ::close(pair[0]);
      r.unusable = true;
      return std::nullopt;
    }
    return started_worker{pid, pair[0], pidfd};
  }
  throw worker_start_error("the worker starter process ended while starting a worker");
}

forked_exit reap_forked(pid_t pid, bool block, std::string& how, int& signal, int& code) {
  registry& r = the_registry();
  for (;;) {
    int socket = -1;
    {
      std::lock_guard lock(r.mutex);
      forget_after_fork(r);
      if (const auto running = r.running.find(pid); running != r.running.end()) {
        server& s = *running->second;  // drain may erase the entry; the server stays unless gone
        if (drain(r, s)) socket = s.socket;
      }
      if (const auto ended = r.ended.find(pid); ended != r.ended.end()) {
        if (ended->second) {
          how = describe_wait_status(*ended->second, signal, code);
        } else {
          signal = 0;
          code = -1;
          how = "ended with its starter process " + std::to_string(r.lost_with[pid]) + ", which took its exit status";
          r.lost_with.erase(pid);
        }
        r.ended.erase(ended);
        return forked_exit::ended;
      }
      if (socket < 0) return forked_exit::not_forked;
      if (!block) return forked_exit::running;
    }
    // Wait for the server to say more, without holding the lock; the loop rechecks whatever
    // happened meanwhile (another thread may have read the message, or the server gone).
    pollfd p{socket, POLLIN, 0};
    (void)::poll(&p, 1, 100);
  }
}

}  // namespace detail
}  // namespace trident::proc
