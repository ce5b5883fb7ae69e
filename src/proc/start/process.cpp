// proc::process: one child, one task. The child is served by worker_main in "process" mode:
// hello, one task frame, (result or error frame,) exit. The parent sends the task right after
// spawning, without waiting for the hello, and never reads the answer: the exit code tells.

#include "trident/proc/process.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>
#include <stdexcept>
#include <utility>

#include "trident/proc/detail/frame.hpp"
#include "trident/proc/detail/spawn.hpp"

namespace trident::proc {

namespace detail {
std::vector<int>*& inherited_fds() noexcept {
  thread_local std::vector<int>* list = nullptr;
  return list;
}
}  // namespace detail

process::process(process&& other) noexcept
    : payload_(std::move(other.payload_)),
      inherit_(std::move(other.inherit_)),
      pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::exchange(other.pidfd_, -1)),
      socket_(std::exchange(other.socket_, -1)),
      exitcode_(std::exchange(other.exitcode_, std::nullopt)) {}

process& process::operator=(process&& other) noexcept {
  if (this != &other) {
    this->~process();
    new (this) process(std::move(other));
  }
  return *this;
}

process::~process() {
  if (pid_ > 0 && !exitcode_) {
    ::kill(pid_, SIGKILL);
    wait_exit(-1);
  }
  if (pidfd_ >= 0) ::close(pidfd_);
  if (socket_ >= 0) ::close(socket_);
}

void process::start() {
  if (pid_ > 0) throw std::logic_error("process already started");
  auto w = detail::spawn_worker("process", 0, inherit_);
  pid_ = w.pid;
  pidfd_ = w.pidfd;
  socket_ = w.socket;
  detail::frame_writer out;
  out.add(detail::frame_kind::task, 1, payload_);
  // A child that died at once (no worker_main) closes its end: flush reports it, join tells how.
  (void)out.flush(socket_);
}

bool process::wait_exit(int timeout_ms) {
  if (exitcode_) return true;
  if (pid_ <= 0) throw std::logic_error("process not started");
  int sig = 0;
  int code = -1;
  if (pidfd_ < 0) {
    // No pidfd on this system (see spawn.hpp): poll our own PID, never anyone else's.
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
  if (pid_ > 0 && !exitcode_) ::kill(pid_, sig);  // not reaped yet, so the PID is still ours
}

void process::terminate() { signal(SIGTERM); }
void process::kill() { signal(SIGKILL); }

}  // namespace trident::proc
