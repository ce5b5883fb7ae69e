#pragma once
/// @file
/// `process`: one registered function run in a child process (Python's
/// `multiprocessing.Process`).

#include <cstdint>
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "trident/proc/codec.hpp"
#include "trident/proc/detail/inherit.hpp"
#include "trident/proc/task_registry.hpp"

namespace trident::proc {

/// How `process::start` starts the process.
enum class start_mode {
  /// A child of the calling thread (the default): see `process`.
  child,
  /// Outside the starter's process tree, ending when the starter releases it or dies: see
  /// "Detached" in `process`.
  detached,
};

/// A child process that runs `fn(args...)` once and exits: `start`, `join` (with a timeout),
/// `pid`, `exitcode`, `terminate`, `kill`.
///
/// The child is the program's own binary in worker mode (`main` must call `worker_main`): a fork
/// of the program's fork server, itself the binary re-executed, so the child starts clean
/// whatever threads the parent runs (docs/proc.md). Arguments are encoded when the
/// `process` is constructed. A `proc::queue` argument is inherited by the child (the only way a
/// queue crosses, as in Python). The function's result is discarded, as in Python; an exception
/// it throws is printed by the child, whose exit code is then 1.
///
/// @par Exit code
/// `exitcode()` follows Python: nullopt while running, 0 on success, 1 after an exception,
/// `-N` if signal N ended the child.
///
/// @par Lifetime
/// (Of a child; a detached process: see "Detached".) The child dies if the thread that called
/// `start` ends, or the parent dies (PR_SET_PDEATHSIG): start processes from a thread that
/// outlives them (usually the main thread). Destroying a `process` that is still running kills
/// and reaps it, so no child outlives its handle and none is left a zombie; `join` first to let
/// it finish. Move-assigning to a `process` ends the one it held the same way. Neither throws:
/// should reaping fail (only when memory runs out), the child is still killed, its exit status
/// is lost (a child started without the fork server stays a zombie until the program ends), and
/// one line on stderr says so.
///
/// @par Detached
/// `start(start_mode::detached)` runs the task in a process that is no descendant of the
/// starter, for a service that a measurement of the starter's tree (`advisor::measure`) must
/// leave out — a test server, a database. The binary is re-executed directly (never forked by the
/// fork server); that process forks the detached one and exits at once, so the detached process
/// is re-parented to the nearest subreaper (usually init; a starter that is itself a subreaper
/// gets it back as a child), and calls `setsid()`, so a terminal's Ctrl-C reaches the starter
/// alone. `start` returns once the detached process said hello; `pid()` is then its PID.
///
/// It ends when the starter lets it go: the starter holds the only writing end of the channel,
/// and `release()`, destroying the `process`, or the starter's end however it comes (SIGKILL, a
/// crash) closes it. The task sees that as `release_descriptor()` turning readable (or
/// `wait_until_released()` returning) and must then finish — the task watches; no signal is
/// sent, so a service can stop in order (close its server, remove its files). A task that never
/// watches runs on after its starter. The task's descriptor is close-on-exec, so programs it
/// starts do not hold it.
///
/// `join`, `is_alive` and `exitcode` work as for a child, through a pidfd (or, without pidfds,
/// the channel's end). The starter is not the detached process's parent and cannot learn a
/// signal that ended it: `exitcode()` is 0 after the task returned, 1 after it threw, and
/// `exit_unknown` when it ended without finishing its task (killed, or released before the task
/// started). `terminate` and `kill` signal it through its pidfd, so never a reused PID.
/// Destroying a running detached `process` releases it and neither waits nor kills: call
/// `release()` and `join(timeout)` first to wait for its clean-up. `proc::queue` arguments reach
/// it as they reach a child, for what it has to tell the starter (a port, say).
///
/// @par Thread safety
/// One `process` is used by one thread at a time.
///
/// @code
///   void produce(proc::queue<std::string> q, int n);
///   TRIDENT_TASK(produce);
///   proc::process p(produce, q, 4);
///   p.start();
///   p.join();   // *p.exitcode() == 0
/// @endcode
class process {
 public:
  template <class R, class... P, class... Args>
  explicit process(R (*fn)(P...), Args&&... args) {
    static_assert(sizeof...(P) == sizeof...(Args), "process: wrong number of arguments for the task");
    using args_t = std::tuple<std::decay_t<P>...>;
    const std::string& name = detail::task_name_of(reinterpret_cast<detail::any_fn>(fn));
    const auto n = static_cast<std::uint32_t>(name.size());
    payload_.append(reinterpret_cast<const char*>(&n), sizeof n);
    payload_.append(name);
    detail::inherit_scope collect(inherit_);
    encode_into(payload_, args_t(std::forward<Args>(args)...));
  }
  process(process&& other) noexcept;
  process& operator=(process&& other) noexcept;
  process(const process&) = delete;
  process& operator=(const process&) = delete;
  ~process();

  /// `exitcode()` of a detached process that ended without finishing its task.
  static constexpr int exit_unknown = 255;

  /// Starts the process, as a child or detached (see the class comment). Throws
  /// `worker_start_error` if it cannot start (a detached one: also when it does not say hello
  /// within 10 seconds), std::logic_error if started before.
  void start(start_mode mode = start_mode::child);

  /// Detached: tells the process to finish (its `release_descriptor()` turns readable), as the
  /// starter's death would; returns at once. Idempotent; harmless after it ended. A child
  /// process: does nothing (`terminate` ends a child).
  void release();

  /// Whether `start` started it detached.
  [[nodiscard]] bool detached() const noexcept { return detached_; }

  /// Waits until the child exits; returns true then (and reaps it).
  bool join();
  /// Waits at most `timeout`; returns whether the child has exited.
  bool join(std::chrono::milliseconds timeout);

  /// Whether the child was started and has not exited yet; never blocks.
  [[nodiscard]] bool is_alive();

  /// The child's PID, or -1 before `start`.
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }

  /// See the class comment; never blocks.
  [[nodiscard]] std::optional<int> exitcode();

  /// Sends SIGTERM. Harmless after the child exited.
  void terminate();
  /// Sends SIGKILL. Harmless after the child exited.
  void kill();

 private:
  bool wait_exit(int timeout_ms);
  bool wait_detached_exit(int timeout_ms);
  void signal(int sig);

  std::string payload_;
  std::vector<int> inherit_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  int socket_ = -1;
  std::optional<int> exitcode_;
  bool detached_ = false;
  std::string unread_;  ///< Detached: what it sent after its hello (its result frame).
};

/// Inside the task of a detached process: a descriptor that turns readable (end of file) once
/// the starter released the process or ended, however it ended; poll it beside the task's own
/// descriptors, never read it. -1 in any other process. Thread-safe.
[[nodiscard]] int release_descriptor() noexcept;

/// Inside the task of a detached process: blocks until `release_descriptor()` is readable.
/// Elsewhere returns at once. Thread-safe; not cancellable.
void wait_until_released();

}  // namespace trident::proc
