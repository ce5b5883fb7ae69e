#pragma once
/// @file
/// `trident::stop_signals`: Ctrl-C (SIGINT), SIGTERM (`kill`, `timeout`) and SIGHUP (the terminal
/// closed) as a `std::stop_token` — the first signal asks the program to stop and tidy up, a
/// second one ends it at once. Trident's counterpart of asyncio's `loop.add_signal_handler` and
/// tokio's `signal::ctrl_c`; `aio::stop_requested` (aio/stop_requested.hpp) awaits it on an event
/// loop. Every `trident` command and `trident bench` stop this way.

#include <csignal>
#include <functional>
#include <initializer_list>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

namespace trident {

/// Takes the stop signals of the process for its lifetime and turns them into a stop request:
///
///  - the **first** signal records its number (`received()`, for an exit code of 128 + N as a
///    shell reports it) and asks `token()` to stop. `std::stop_callback`s registered on the
///    token run then, on the signal thread (below), as do the awaits of `aio::stop_requested`;
///  - **each later** signal calls `options::on_second_signal` on the signal thread, or — by
///    default — ends the process at once with `_exit(128 + received())`, from the signal handler
///    itself, so that it works even while the first signal's callbacks are still busy. Nothing
///    is flushed or unwound then: "end now" is what a user pressing Ctrl-C twice asks for.
///
/// On destruction the dispositions found at construction are put back (signals that arrive
/// later get those again) and the signal thread ends.
///
/// How (and why not `sigwait`): the constructor installs a signal handler with `sigaction`
/// (`SA_RESTART`) that does only async-signal-safe work — an atomic compare-and-swap, then
/// `write` of the signal number into a pipe (or `_exit`). A thread of the object's own, the
/// *signal thread*, reads the pipe and does the rest as ordinary code: requesting the stop,
/// running callbacks, calling `on_second_signal`. Nothing the program registers ever runs inside
/// a signal handler, so callbacks may lock, allocate, print, post to an event loop or kill a
/// child process. Compared with blocking the signals in every thread and taking them with
/// `sigwait` (what Trident's commands each did before), a handler
///  - can be installed at any time, also after other threads started (a mask is inherited
///    only by threads started after it was set);
///  - also sees a signal sent to one thread (`raise`, `pthread_kill`), which `sigwait` in
///    another thread never does;
///  - leaves the mask of child processes alone: a program started by `posix_spawn`, `system` or
///    fork + exec gets the default dispositions on exec, not a blocked SIGINT that makes it
///    deaf to Ctrl-C.
/// The price: a signal may interrupt a system call in any thread. With `SA_RESTART` most are
/// restarted; those that never are (`poll`, `epoll_wait`, `nanosleep`, ...) fail with `EINTR`,
/// which Trident's own loops retry, and so must code of the program's own that calls them.
///
/// Children made by `fork()` without exec inherit the handler; in them it does not report to
/// this object but puts back the disposition found at construction and raises the signal again,
/// so the child reacts as it would have without `stop_signals` (a worker killed with SIGTERM
/// ends, it does not stop its parent).
///
/// @par Thread safety
/// `token()`, `received()` and `stop_requested()` may be called from any thread at any time.
/// Construction and destruction may happen on any thread, but not on the signal thread (not
/// inside a stop callback or `on_second_signal`: the destructor joins that thread). At most one
/// `stop_signals` lives per process at a time — dispositions are process-wide — and a second
/// one throws `std::logic_error`. Callbacks on the token and `on_second_signal` run on the
/// signal thread one after another, and must not throw (a throwing stop callback terminates,
/// as `std::stop_callback` specifies; so does a throwing `on_second_signal`).
///
/// @par Cancellation
/// Not a cancellation point itself: it *is* the source of a stop request. Long work polls
/// `token().stop_requested()`, registers a `std::stop_callback`, or (on an event loop) awaits
/// `aio::stop_requested(token())`.
///
/// @code
///   int main() {
///     trident::stop_signals stop;                      // SIGINT, SIGTERM, SIGHUP from here on
///     while (!stop.stop_requested() && more_work()) do_one_item();
///     if (stop.received() != 0) return 128 + stop.received();  // 130 after Ctrl-C
///   }
/// @endcode
class stop_signals {
 public:
  struct options {
    /// The signals taken (SIGKILL and SIGSTOP cannot be). Default: SIGINT, SIGTERM, SIGHUP.
    std::vector<int> signals{SIGINT, SIGTERM, SIGHUP};
    /// Called on the signal thread with the number of each signal after the first; it may end
    /// the process itself (after its own tidying or message) or return, and then the program
    /// goes on. Empty (the default): a second signal ends the process at once with
    /// `_exit(128 + received())`, from the signal handler.
    std::function<void(int signal)> on_second_signal;
  };

  /// Takes the default signals (SIGINT, SIGTERM, SIGHUP) with the default second-signal action.
  stop_signals();
  /// Takes `opts.signals`. Throws `std::logic_error` if another `stop_signals` lives,
  /// `std::invalid_argument` for an empty or invalid set (SIGKILL, SIGSTOP, not a signal),
  /// `std::system_error` if the pipe, a `sigaction` or the thread cannot be made (then nothing
  /// was changed).
  explicit stop_signals(options opts);
  stop_signals(const stop_signals&) = delete;
  stop_signals& operator=(const stop_signals&) = delete;
  /// Puts back the dispositions found at construction and ends the signal thread (waiting for
  /// a callback or `on_second_signal` in progress).
  ~stop_signals();

  /// Asked to stop by the first signal (and never otherwise).
  [[nodiscard]] std::stop_token token() const noexcept { return source_.get_token(); }
  /// The first signal's number, 0 until one arrived. Set before the token is asked to stop, so
  /// whoever sees the stop request sees the number too.
  [[nodiscard]] int received() const noexcept;
  /// `token().stop_requested()`.
  [[nodiscard]] bool stop_requested() const noexcept { return source_.stop_requested(); }

  /// "SIGINT" for SIGINT: the name a shell and `kill -l` use (`"signal N"` for a number without
  /// one). Thread safe.
  [[nodiscard]] static std::string name(int signal);

 private:
  void watch() noexcept;

  std::vector<int> signals_;
  std::function<void(int)> on_second_signal_;
  std::stop_source source_;
  std::thread thread_;
};

}  // namespace trident
