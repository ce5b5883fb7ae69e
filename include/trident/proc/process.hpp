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
/// The child dies if the thread that called `start` ends, or the parent dies (PR_SET_PDEATHSIG):
/// start processes from a thread that outlives them (usually the main thread). Destroying a
/// `process` that is still running kills and reaps it, so no child outlives its handle and none
/// is left a zombie; `join` first to let it finish.
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

  /// Starts the child. Throws `worker_start_error` if it cannot start, std::logic_error if
  /// started before.
  void start();

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
  void signal(int sig);

  std::string payload_;
  std::vector<int> inherit_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  int socket_ = -1;
  std::optional<int> exitcode_;
};

}  // namespace trident::proc
