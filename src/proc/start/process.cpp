// proc::process: one child, one task. The child is served by worker_main in "process" mode:
// hello, one task frame, (result or error frame,) exit. The parent sends the task right after
// starting it, without waiting for the hello, and never reads the answer: the exit code tells.
// A detached process (worker_main's "detached" mode) is no child of ours: the parent waits for
// its hello (its PID), learns its end from a pidfd, and its exit code from the answer frame.

#include "trident/proc/process.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include "trident/proc/detail/frame.hpp"
#include "trident/proc/detail/start_process.hpp"

namespace trident::proc {

namespace detail {
std::vector<int>*& inherited_fds() noexcept {
  thread_local std::vector<int>* list = nullptr;
  return list;
}
}  // namespace detail

namespace {

/// The destructor's way out when reaping the child it killed fails. Reaping describes the exit in
/// a string and may look the child up in the fork server's table, so only running out of memory
/// (std::bad_alloc) or a failing lock gets here. The child is dead (SIGKILL); what is lost is its
/// exit status, and a direct child stays a zombie until the program ends. A destructor has no
/// caller to throw that to (a throw would end the program), and a leak the user cannot see would
/// hide it: one line on stderr says what happened.
void report_unreaped(pid_t pid, const char* why) noexcept {
  std::fprintf(stderr, "trident: proc::process: child %d was killed but could not be reaped (%s)\n",
               static_cast<int>(pid), why);
}

}  // namespace

process::process(process&& other) noexcept
    : payload_(std::move(other.payload_)),
      inherit_(std::move(other.inherit_)),
      pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::exchange(other.pidfd_, -1)),
      socket_(std::exchange(other.socket_, -1)),
      exitcode_(std::exchange(other.exitcode_, std::nullopt)),
      detached_(std::exchange(other.detached_, false)),
      unread_(std::move(other.unread_)) {}

process& process::operator=(process&& other) noexcept {
  if (this != &other) {
    this->~process();
    new (this) process(std::move(other));
  }
  return *this;
}

process::~process() {
  if (detached_) {
    // Not our child: closing the channel releases it (see the header); nothing to reap.
    if (pidfd_ >= 0) ::close(pidfd_);
    if (socket_ >= 0) ::close(socket_);
    return;
  }
  if (pid_ > 0 && !exitcode_) {
    ::kill(pid_, SIGKILL);
    try {
      wait_exit(-1);
    } catch (const std::exception& e) {
      report_unreaped(pid_, e.what());
    } catch (...) {
      report_unreaped(pid_, "unknown exception");
    }
  }
  if (pidfd_ >= 0) ::close(pidfd_);
  if (socket_ >= 0) ::close(socket_);
}

void process::start(start_mode mode) {
  if (pid_ > 0) throw std::logic_error("process already started");
  detached_ = mode == start_mode::detached;
  auto w = detached_ ? detail::start_detached_worker(inherit_) : detail::start_worker("process", 0, inherit_);
  pid_ = w.pid;
  pidfd_ = w.pidfd;
  socket_ = w.socket;
  detail::frame_writer out;
  out.add(detail::frame_kind::task, 1, payload_);
  // A child that died at once (no worker_main) closes its end: flush reports it, join tells how.
  (void)out.flush(socket_);
}

void process::release() {
  // Half-closed: the process reads end-of-file, and its answer can still come back.
  if (detached_ && socket_ >= 0) ::shutdown(socket_, SHUT_WR);
}

bool process::wait_detached_exit(int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  const auto left = [&] {
    if (timeout_ms < 0) return -1;
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    return static_cast<int>(std::max<long long>(0, ms));
  };
  if (pidfd_ >= 0) {
    pollfd p{pidfd_, POLLIN, 0};
    int r;
    do {
      r = ::poll(&p, 1, left());
    } while (r < 0 && errno == EINTR);
    if (r == 0) return false;
  }
  // Its answer frame, if it sent one, is on the channel, then end-of-file (once it has ended, the
  // process's end of the channel is closed; without a pidfd, that end-of-file is how we learn).
  bool ended = false;
  for (;;) {
    pollfd p{socket_, POLLIN, 0};
    const int r = ::poll(&p, 1, pidfd_ >= 0 ? 0 : left());
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    char chunk[4096];
    const ssize_t n = ::recv(socket_, chunk, sizeof chunk, MSG_DONTWAIT);
    if (n > 0) {
      unread_.append(chunk, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    ended = true;
    break;
  }
  if (pidfd_ < 0 && !ended) return false;
  int code = exit_unknown;
  try {
    detail::frame_reader in;
    in.feed(unread_);
    while (auto f = in.next()) {
      if (f->kind == detail::frame_kind::result) code = 0;
      if (f->kind == detail::frame_kind::error) code = 1;
    }
  } catch (const std::exception&) {
    // A garbled answer says nothing about how it ended.
  }
  unread_.clear();
  exitcode_ = code;
  ::close(socket_);
  socket_ = -1;
  return true;
}

bool process::wait_exit(int timeout_ms) {
  if (exitcode_) return true;
  if (pid_ <= 0) throw std::logic_error("process not started");
  if (detached_) return wait_detached_exit(timeout_ms);
  int sig = 0;
  int code = -1;
  if (pidfd_ < 0) {
    // No pidfd on this system (see start_process.hpp): poll our own PID, never anyone else's.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    auto pause = std::chrono::microseconds(200);
    while (!detail::try_reap(pid_, sig, code)) {
      if (timeout_ms >= 0 && std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(pause);
      pause = std::min<std::chrono::microseconds>(pause * 2, std::chrono::milliseconds(20));
    }
  } else {
    pollfd p{pidfd_, POLLIN, 0};
    int r;
    do {
      r = ::poll(&p, 1, timeout_ms);
    } while (r < 0 && errno == EINTR);
    if (r == 0) return false;
    (void)detail::reap(pid_, sig, code);
  }
  exitcode_ = sig != 0 ? -sig : code;
  ::close(socket_);
  socket_ = -1;
  return true;
}

bool process::join() { return wait_exit(-1); }

bool process::join(std::chrono::milliseconds timeout) {
  return wait_exit(static_cast<int>(std::max<long long>(0, timeout.count())));
}

bool process::is_alive() { return pid_ > 0 && !wait_exit(0); }

std::optional<int> process::exitcode() {
  if (pid_ > 0) wait_exit(0);
  return exitcode_;
}

void process::signal(int sig) {
  if (pid_ <= 0 || exitcode_) return;
  if (!detached_) {
    ::kill(pid_, sig);  // not reaped yet, so the PID is still ours
  } else if (pidfd_ >= 0) {
    (void)::syscall(SYS_pidfd_send_signal, pidfd_, sig, nullptr, 0);  // never a reused PID
  } else if (!wait_exit(0)) {
    ::kill(pid_, sig);  // its channel is still open, so it still runs
  }
}

void process::terminate() { signal(SIGTERM); }
void process::kill() { signal(SIGKILL); }

}  // namespace trident::proc
