// The handler, the pipe and the signal thread of trident::stop_signals (see its header for the
// design). What the handler touches is process-wide state here, not the object: a handler can
// run at any moment on any thread, also while the object is being built or destroyed, so it
// may only read lock-free atomics and descriptors that stay valid for the life of the process.

#include "trident/core/stop_signals.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace trident {
namespace {

static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs lock-free atomics");
static_assert(std::atomic<pid_t>::is_always_lock_free, "the signal handler needs lock-free atomics");
static_assert(std::atomic<bool>::is_always_lock_free, "the signal handler needs lock-free atomics");

/// The byte that tells the signal thread to end (no signal is numbered 0).
constexpr unsigned char quit_byte = 0;

/// Guards making and ending a stop_signals (one at a time per process) and `previous`.
std::mutex lifetime_mutex;
bool alive = false;  // guarded by lifetime_mutex

/// The process whose stop_signals lives (0: none). A forked child has another pid.
std::atomic<pid_t> owner{0};
/// The first signal's number, 0 before it.
std::atomic<int> first_signal{0};
/// No on_second_signal: the handler ends the process on a second signal.
std::atomic<bool> end_at_once{true};
/// The pipe from the handler to the signal thread, both ends non-blocking and close-on-exec.
/// Made once and never closed: a handler still running on another thread while the object is
/// destroyed must not write into a descriptor number that was closed and reused meanwhile.
int pipe_ends[2] = {-1, -1};  // set once under lifetime_mutex, before any handler is installed
/// The disposition of each taken signal before the constructor took it.
struct sigaction previous[NSIG];  // written under lifetime_mutex before the handler is installed

[[noreturn]] void throw_errno(int error, const char* what) {
  throw std::system_error(error, std::generic_category(), std::string("stop_signals: ") + what);
}

extern "C" void on_stop_signal(int signal_number) {
  const int saved_errno = errno;
  if (::getpid() != owner.load(std::memory_order_acquire)) {
    // A child made by fork() (or a signal that raced the destructor): react as without
    // stop_signals. The signal is blocked while this handler runs, so the raised copy is
    // delivered with the old disposition as soon as it returns.
    ::sigaction(signal_number, &previous[signal_number], nullptr);
    ::raise(signal_number);
    errno = saved_errno;
    return;
  }
  int first = 0;
  if (!first_signal.compare_exchange_strong(first, signal_number) && end_at_once.load(std::memory_order_relaxed)) {
    ::_exit(128 + first);
  }
  const auto byte = static_cast<unsigned char>(signal_number);
  (void)!::write(pipe_ends[1], &byte, 1);  // full only after 64 KiB of unread signals: drop
  errno = saved_errno;
}

void make_pipe_once() {
  if (pipe_ends[0] >= 0) return;
  if (::pipe2(pipe_ends, O_CLOEXEC | O_NONBLOCK) != 0) {
    const int error = errno;
    pipe_ends[0] = pipe_ends[1] = -1;
    throw_errno(error, "cannot make the signal pipe");
  }
}

/// Drops bytes left by an earlier stop_signals (a signal that raced its destructor).
void drain_pipe() {
  unsigned char buffer[256];
  while (::read(pipe_ends[0], buffer, sizeof buffer) > 0) {}
}

void write_quit() {
  for (;;) {
    if (::write(pipe_ends[1], &quit_byte, 1) == 1) return;
    if (errno != EAGAIN && errno != EINTR) std::terminate();  // the thread could never be joined
    ::usleep(1000);                                           // full of unread signals: the thread is reading them
  }
}

std::vector<int> checked(std::vector<int> signals) {
  if (signals.empty()) throw std::invalid_argument("stop_signals: no signal to take");
  std::sort(signals.begin(), signals.end());
  signals.erase(std::unique(signals.begin(), signals.end()), signals.end());
  for (const int s : signals) {
    if (s <= 0 || s >= NSIG || s == SIGKILL || s == SIGSTOP) {
      throw std::invalid_argument("stop_signals: " + std::to_string(s) + " cannot be taken");
    }
  }
  return signals;
}

}  // namespace

stop_signals::stop_signals() : stop_signals(options{}) {}

stop_signals::stop_signals(options opts)
    : signals_(checked(std::move(opts.signals))), on_second_signal_(std::move(opts.on_second_signal)) {
  const std::lock_guard lock(lifetime_mutex);
  if (alive) throw std::logic_error("stop_signals: one already takes this process's signals");
  make_pipe_once();
  drain_pipe();
  first_signal.store(0);
  end_at_once.store(!on_second_signal_);

  // The signal thread runs with the signals blocked, so the handler never interrupts it.
  sigset_t taken;
  sigemptyset(&taken);
  for (const int s : signals_) sigaddset(&taken, s);
  sigset_t mask;
  pthread_sigmask(SIG_BLOCK, &taken, &mask);
  try {
    thread_ = std::thread(&stop_signals::watch, this);
  } catch (...) {
    pthread_sigmask(SIG_SETMASK, &mask, nullptr);
    throw;
  }
  pthread_sigmask(SIG_SETMASK, &mask, nullptr);
  pthread_setname_np(thread_.native_handle(), "trident-signal");

  owner.store(::getpid(), std::memory_order_release);
  struct sigaction action {};
  action.sa_handler = &on_stop_signal;
  action.sa_mask = taken;  // one stop signal at a time per thread
  action.sa_flags = SA_RESTART;
  for (std::size_t i = 0; i < signals_.size(); ++i) {
    if (::sigaction(signals_[i], &action, &previous[signals_[i]]) == 0) continue;
    const int error = errno;
    for (std::size_t j = 0; j < i; ++j) ::sigaction(signals_[j], &previous[signals_[j]], nullptr);
    owner.store(0);
    write_quit();
    thread_.join();
    throw_errno(error, "cannot take a signal");
  }
  alive = true;
}

stop_signals::~stop_signals() {
  const std::lock_guard lock(lifetime_mutex);
  for (const int s : signals_) ::sigaction(s, &previous[s], nullptr);
  owner.store(0);
  write_quit();
  thread_.join();
  alive = false;
}

int stop_signals::received() const noexcept { return first_signal.load(); }

std::string stop_signals::name(int signal) {
  const char* abbreviation = ::sigabbrev_np(signal);
  return abbreviation != nullptr ? std::string("SIG") + abbreviation : "signal " + std::to_string(signal);
}

void stop_signals::watch() noexcept {
  bool stopped = false;
  for (;;) {
    pollfd ready{pipe_ends[0], POLLIN, 0};
    if (::poll(&ready, 1, -1) < 0) {
      if (errno == EINTR) continue;
      std::terminate();  // no signal could be taken any more
    }
    unsigned char bytes[64];
    const ssize_t n = ::read(pipe_ends[0], bytes, sizeof bytes);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      std::terminate();
    }
    for (ssize_t i = 0; i < n; ++i) {
      if (bytes[i] == quit_byte) return;
      if (!stopped) {
        stopped = true;
        source_.request_stop();  // runs the stop callbacks here, one after another
      } else if (on_second_signal_) {
        on_second_signal_(bytes[i]);  // noexcept context: a throw terminates
      }
    }
  }
}

}  // namespace trident
