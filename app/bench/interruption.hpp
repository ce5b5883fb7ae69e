#pragma once
/// @file
/// Stopping `trident bench` part-way: Ctrl-C (SIGINT), SIGTERM (`kill`, `timeout`) and SIGHUP
/// (the terminal closed) end the run with the exit code a shell gives for that signal (128 + N),
/// after undoing what the run set up — its temporary folders, the servers it started, the peer
/// programs it runs. Without this, a stopped http suite left hundreds of MB of files in the
/// temporary directory and, after SIGKILL, nginx still serving them.
///
/// SIGKILL cannot be caught: what a killed run leaves is handled where it was made (nginx dies
/// with the run through PR_SET_PDEATHSIG; the next run removes a dead run's folder).

#include <functional>
#include <memory>
#include <string>

namespace trident::bench {

/// Takes SIGINT, SIGTERM and SIGHUP for the lifetime of the object (`trident::stop_signals`).
/// On the first of them it prints what stopped the run, runs every registered cleanup (newest
/// first) and ends the process with 128 + N, without returning to the suite; a signal that
/// comes while the cleanups run waits for them instead of cutting them short.
///
/// The cleanups run on the signal thread of `stop_signals`, as ordinary code. One at a time per
/// process (a second throws `std::logic_error`); it may be made on any thread, also after the
/// suite's threads started.
class interruption_guard {
 public:
  interruption_guard();
  interruption_guard(const interruption_guard&) = delete;
  interruption_guard& operator=(const interruption_guard&) = delete;
  ~interruption_guard();

 private:
  struct state;
  std::unique_ptr<state> state_;
};

/// A cleanup that runs if the run is interrupted while this object lives; destroying it (the
/// normal end of what it guards) unregisters it, waiting for it if it is running.
///
/// Thread safety: registration and destruction may happen on any thread. The action runs on the
/// guard's thread while the suite's threads still run, so it must only do what is safe beside
/// them (kill a process, remove a folder), and must not throw. Without an `interruption_guard`
/// (a suite called from a test), registering is harmless and nothing runs.
class on_interruption {
 public:
  explicit on_interruption(std::function<void()> action);
  on_interruption(const on_interruption&) = delete;
  on_interruption& operator=(const on_interruption&) = delete;
  ~on_interruption();

 private:
  unsigned long id_;
};

}  // namespace trident::bench
