// Worker start-up on the parent's side: re-exec of /proc/self/exe through posix_spawn.
//
// Why not fork(): the parent may run threads (a pool's I/O thread, thread pools, an event loop);
// a forked child inherits their locks in whatever state they were, and may deadlock on the
// first malloc. posix_spawn creates the child with vfork semantics and execs at once, so no user
// code runs in a half-copied process; the worker starts from main() like any program.

#include "trident/proc/detail/start_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/eventfd.h>

#include <atomic>
#include <cstdint>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "trident/proc/detail/fork_server.hpp"
#include "trident/proc/detail/frame.hpp"
#include "trident/proc/errors.hpp"

extern char** environ;

namespace trident::proc::detail {

std::string start_failure_message(const char* call, int error) {
  std::string message = "cannot start worker process: ";
  if (call != nullptr) message += std::string(call) + ": ";
  message += std::strerror(error);
  if (error == EAGAIN) message += " (the user's process limit, ulimit -u, may be reached)";
  return message;
}

std::string missing_guard_hint() {
  return "the program's main() must start with "
         "`if (auto rc = trident::proc::worker_main(argc, argv)) return *rc;` "
         "so that the re-executed binary serves as a worker";
}

int injected_failure(const char* call) {
  const char* spec = std::getenv("TRIDENT_PROC_FAULT");
  if (spec == nullptr) return 0;
  static constexpr std::pair<std::string_view, int> names[] = {
      {"EAGAIN", EAGAIN}, {"ENOSYS", ENOSYS}, {"EPERM", EPERM}, {"ENOMEM", ENOMEM}, {"EMFILE", EMFILE}};
  std::string_view rest(spec);
  const std::string_view wanted(call);
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const auto eq = item.find('=');
    if (eq == std::string_view::npos || item.substr(0, eq) != wanted) continue;
    for (auto [name, value] : names) {
      if (item.substr(eq + 1) == name) return value;
    }
  }
  return 0;
}

namespace {

int sigchld_fd = -1;
struct sigaction previous_sigchld {};

void on_sigchld(int signal, siginfo_t* info, void* context) {
  const int saved_errno = errno;
  const std::uint64_t one = 1;
  (void)!::write(sigchld_fd, &one, sizeof one);
  errno = saved_errno;
  // The program's own handler still runs: SIGCHLD belongs to the program, not to Trident.
  if ((previous_sigchld.sa_flags & SA_SIGINFO) != 0) {
    if (previous_sigchld.sa_sigaction != nullptr) previous_sigchld.sa_sigaction(signal, info, context);
  } else if (previous_sigchld.sa_handler != SIG_DFL && previous_sigchld.sa_handler != SIG_IGN &&
             previous_sigchld.sa_handler != nullptr) {
    previous_sigchld.sa_handler(signal);
  }
}

}  // namespace

int sigchld_event_fd() {
  static std::once_flag once;
  std::call_once(once, [] {
    sigchld_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (sigchld_fd < 0) throw worker_start_error(std::string("eventfd: ") + std::strerror(errno));
    struct sigaction action {};
    action.sa_sigaction = &on_sigchld;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    // Read the program's handler before ours goes in, so a SIGCHLD arriving in between still
    // finds it to call.
    ::sigaction(SIGCHLD, nullptr, &previous_sigchld);
    ::sigaction(SIGCHLD, &action, nullptr);
  });
  return sigchld_fd;
}

worker_environment::worker_environment(const std::vector<std::string>& withheld_environment) {
  const auto withheld = [&withheld_environment](const char* entry) {
    for (const auto& prefix : withheld_environment) {
      if (std::strncmp(entry, prefix.c_str(), prefix.size()) == 0) return true;
    }
    return false;
  };
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // Sanitizer builds: a worker's segfault must end it by the signal (what crash isolation
  // reports), not by the sanitizer's report and exit status 1.
#if defined(__SANITIZE_ADDRESS__)
  const char* sanitizer_var = "ASAN_OPTIONS";
#else
  const char* sanitizer_var = "TSAN_OPTIONS";
#endif
  const char* old_options = std::getenv(sanitizer_var);
  sanitizer_options_ = std::string(sanitizer_var) + "=" + (old_options != nullptr ? old_options : "") +
                       (old_options != nullptr && *old_options != '\0' ? ":" : "") + "handle_segv=0";
  const std::size_t var_len = std::strlen(sanitizer_var);
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (std::strncmp(*e, "TRIDENT_WORKER_PENDING=", 23) == 0 || withheld(*e)) continue;
    if (std::strncmp(*e, sanitizer_var, var_len) == 0 && (*e)[var_len] == '=') continue;
    entries_.push_back(*e);
  }
  entries_.push_back(sanitizer_options_.data());
#else
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (std::strncmp(*e, "TRIDENT_WORKER_PENDING=", 23) != 0 && !withheld(*e)) entries_.push_back(*e);
  }
#endif
}

std::vector<char*> worker_environment::for_exec() const {
  static char pending[] = "TRIDENT_WORKER_PENDING=1";
  std::vector<char*> env = entries_;
  env.push_back(pending);
  env.push_back(nullptr);
  return env;
}

started_worker exec_worker(const char* mode, std::size_t memory_limit_bytes, std::span<const int> inherit,
                           const worker_environment& environment, int socket_type) {
  int fds[2];
  if (::socketpair(AF_UNIX, socket_type | SOCK_CLOEXEC, 0, fds) != 0) {
    throw worker_start_error(std::string("socketpair: ") + std::strerror(errno));
  }
  const int parent_end = fds[0];
  const int child_end = fds[1];

  const std::string marker = std::string("--trident-worker=") + mode;
  const std::string fd_text = std::to_string(child_end);
  const std::string parent_text = std::to_string(::getpid());
  const std::string limit_text = std::to_string(memory_limit_bytes);
  static const std::string exe = [] {
    char path[4096];
    const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
    return n > 0 ? std::string(path, static_cast<std::size_t>(n)) : std::string("/proc/self/exe");
  }();
  char* argv[] = {const_cast<char*>(exe.c_str()),        const_cast<char*>(marker.c_str()),
                  const_cast<char*>(fd_text.c_str()),    const_cast<char*>(parent_text.c_str()),
                  const_cast<char*>(limit_text.c_str()), nullptr};
  std::vector<char*> env = environment.for_exec();

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  // dup2 onto itself clears close-on-exec in the child only (glibc >= 2.29).
  posix_spawn_file_actions_adddup2(&actions, child_end, child_end);
  for (int fd : inherit) posix_spawn_file_actions_adddup2(&actions, fd, fd);
  sigset_t none;
  sigset_t all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, "/proc/self/exe", &actions, &attr, argv, env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(child_end);
  if (rc != 0) {
    ::close(parent_end);
    throw worker_start_error(start_failure_message(nullptr, rc));
  }
  const int injected_pidfd = injected_failure("pidfd_open");
  const int pidfd =
      injected_pidfd != 0 ? (errno = injected_pidfd, -1) : static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0 && (errno == ENOSYS || errno == EPERM)) {
    // No pidfds here (old kernel, seccomp, valgrind): the owner reaps on SIGCHLD instead.
    (void)sigchld_event_fd();
    return {pid, parent_end, -1};
  }
  if (pidfd < 0) {
    const int e = errno;
    ::kill(pid, SIGKILL);
    int ignored_signal = 0;
    int ignored_code = 0;
    (void)reap(pid, ignored_signal, ignored_code);
    ::close(parent_end);
    throw worker_start_error(std::string("pidfd_open: ") + std::strerror(e));
  }
  ::fcntl(pidfd, F_SETFD, FD_CLOEXEC);
  return {pid, parent_end, pidfd};
}

namespace {

/// Throws `worker_start_error` inside a stray worker (see worker_main.hpp) or when a start
/// failure is injected (`injected_failure`).
void refuse_start_in_stray_worker() {
  if (std::getenv("TRIDENT_WORKER_PENDING") != nullptr) {
    throw worker_start_error("this process was started as a Trident worker but ran the program's own code instead; " +
                             missing_guard_hint());
  }
  if (const int injected = injected_failure("spawn"); injected != 0) {
    throw worker_start_error(start_failure_message(nullptr, injected));
  }
}

}  // namespace

started_worker start_worker(const char* mode, std::size_t memory_limit_bytes, std::span<const int> inherit,
                            const std::vector<std::string>& withheld_environment,
                            std::chrono::milliseconds start_timeout) {
  refuse_start_in_stray_worker();
  const worker_environment environment(withheld_environment);
  if (fork_server_enabled()) {
    if (auto forked = fork_worker(mode, memory_limit_bytes, inherit, environment, start_timeout)) {
      return *forked;
    }
  }
  return exec_worker(mode, memory_limit_bytes, inherit, environment, SOCK_STREAM);
}

namespace {

/// The detached process's hello (its PID) from `socket`, waiting until `deadline`; 0 when the
/// channel ended or the time ran out first. Reads the hello's bytes and no more: what follows
/// (the task's result) is the `process`'s to read.
pid_t read_hello(int socket, std::chrono::steady_clock::time_point deadline) {
  frame_reader in;
  std::size_t got = 0;
  while (got < frame_header_size) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return 0;
    pollfd p{socket, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) return 0;
    if (ready <= 0) continue;
    std::size_t room = 0;
    char* at = in.prepare(frame_header_size - got, room);
    const ssize_t n = ::recv(socket, at, frame_header_size - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;
    in.commit(static_cast<std::size_t>(n));
    got += static_cast<std::size_t>(n);
  }
  try {
    const auto hello = in.next();
    if (!hello || hello->kind != frame_kind::hello) return 0;
    return static_cast<pid_t>(hello->id);
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace

started_worker start_detached_worker(std::span<const int> inherit, std::chrono::milliseconds start_timeout) {
  refuse_start_in_stray_worker();
  const worker_environment environment({});
  // The process executed here forks the detached one and exits; it is reaped below.
  const started_worker first = exec_worker("detached", 0, inherit, environment, SOCK_STREAM);
  const pid_t detached = read_hello(first.socket, std::chrono::steady_clock::now() + start_timeout);
  int ignored_signal = 0;
  int ignored_code = 0;
  if (detached <= 0) {
    // No hello: the fork failed, or the binary ran its own main (no worker_main guard).
    ::kill(first.pid, SIGKILL);
    (void)reap(first.pid, ignored_signal, ignored_code);
    if (first.pidfd >= 0) ::close(first.pidfd);
    ::close(first.socket);
    throw worker_start_error("a detached process did not start (no hello within " +
                             std::to_string(start_timeout.count()) + " ms); " + missing_guard_hint());
  }
  (void)reap(first.pid, ignored_signal, ignored_code);  // it exits right after its fork
  if (first.pidfd >= 0) ::close(first.pidfd);
  // A pidfd works on a process that is not one's child: readable once it has ended.
  int pidfd = -1;
  if (injected_failure("pidfd_open") == 0) pidfd = static_cast<int>(::syscall(SYS_pidfd_open, detached, 0));
  if (pidfd >= 0) ::fcntl(pidfd, F_SETFD, FD_CLOEXEC);
  return {detached, first.socket, pidfd};
}

std::string signal_name(int signal) {
  const char* abbrev = ::sigabbrev_np(signal);
  return abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(signal);
}

std::string describe_wait_status(int status, int& signal, int& code) {
  signal = 0;
  code = -1;
  if (WIFSIGNALED(status)) {
    signal = WTERMSIG(status);
    return "was killed by signal " + std::to_string(signal) + " (" + signal_name(signal) + ")";
  }
  code = WEXITSTATUS(status);
  return "exited with status " + std::to_string(code);
}

namespace {

std::string describe_status(pid_t r, int status, int& signal, int& code) {
  if (r < 0) {
    signal = 0;
    code = -1;
    return "could not be reaped (" + std::string(std::strerror(errno)) + ")";
  }
  return describe_wait_status(status, signal, code);
}

}  // namespace

std::string reap(pid_t pid, int& signal, int& code) {
  std::string how;
  if (reap_forked(pid, true, how, signal, code) == forked_exit::ended) return how;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid, &status, 0);
  } while (r < 0 && errno == EINTR);
  return describe_status(r, status, signal, code);
}

std::optional<std::string> try_reap(pid_t pid, int& signal, int& code) {
  std::string how;
  switch (reap_forked(pid, false, how, signal, code)) {
    case forked_exit::ended:
      return how;
    case forked_exit::running:
      return std::nullopt;
    case forked_exit::not_forked:
      break;
  }
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == 0) return std::nullopt;
  return describe_status(r, status, signal, code);
}

}  // namespace trident::proc::detail
