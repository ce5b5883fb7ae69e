#pragma once
/// @file
/// Starting a worker: re-executing the program's own binary in worker mode. Internal.

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace trident::proc::detail {

/// A started worker process and the parent's end of its channel.
struct started_worker {
  pid_t pid = -1;
  int socket = -1;  ///< Parent's end of the socketpair (close-on-exec, blocking).
  /// Readable once the worker exits (close-on-exec); -1 where pidfd_open is unavailable
  /// (ENOSYS before Linux 5.3, EPERM under some seccomp filters and valgrind): the owner then
  /// learns of the exit from `sigchld_event_fd()` and reaps with `try_reap`.
  int pidfd = -1;
};

/// Starts a worker: `/proc/self/exe --trident-worker=<mode> <fd> <parent pid> <memory limit>`,
/// forked by the fork server where it can be used (fork_server.hpp), else executed with
/// posix_spawn (no fork of a threaded process). Either way the worker starts with the channel
/// as its only inherited descriptor besides `inherit`, default signal dispositions and an empty
/// signal mask, and dies with its owner. `inherit` lists further descriptors the worker gets
/// under the same numbers (the shared memory of `proc::queue`s handed to a `process`). Throws
/// `worker_start_error`; refuses inside a stray worker (see worker_main.hpp). Variables whose
/// names start with one of `withheld_environment` are left out of the worker's environment.
/// `start_timeout` bounds the wait for a new fork server's handshake. Thread-safe.
started_worker start_worker(const char* mode, std::size_t memory_limit_bytes, std::span<const int> inherit = {},
                            const std::vector<std::string>& withheld_environment = {},
                            std::chrono::milliseconds start_timeout = std::chrono::milliseconds(10000));

/// Starts a detached worker (`process`'s detached mode): executes
/// `/proc/self/exe --trident-worker=detached <fd> <this pid> 0`, which forks the detached process
/// (a new session, no parent-death signal) and exits; reaps that first process and waits up to
/// `start_timeout` for the detached one's hello. Returns the detached process's PID, a pidfd on
/// it (-1 without pidfds: its end is then the channel's end of file) and the channel. Throws
/// `worker_start_error` (with the missing-guard hint when no hello came). Thread-safe.
started_worker start_detached_worker(std::span<const int> inherit,
                                     std::chrono::milliseconds start_timeout = std::chrono::milliseconds(10000));

/// The environment a worker starts with: the caller's, less `withheld_environment` prefixes and
/// the stray-worker marker, with the sanitizer's segfault handling turned off in sanitizer
/// builds. Holds pointers into `environ`: use it before the environment changes.
class worker_environment {
 public:
  explicit worker_environment(const std::vector<std::string>& withheld_environment);
  worker_environment(const worker_environment&) = delete;
  worker_environment& operator=(const worker_environment&) = delete;

  /// The entries, without a terminating null.
  [[nodiscard]] const std::vector<char*>& entries() const noexcept { return entries_; }
  /// The entries plus `TRIDENT_WORKER_PENDING=1` and the terminating null, for exec.
  [[nodiscard]] std::vector<char*> for_exec() const;

 private:
  std::string sanitizer_options_;
  std::vector<char*> entries_;
};

/// Executes `/proc/self/exe --trident-worker=<mode> <fd> <this pid> <memory limit>` with
/// posix_spawn, its channel a socketpair of `socket_type` (SOCK_STREAM, SOCK_SEQPACKET). The
/// executed process dies with the calling thread if its mode asks for that (workers do).
started_worker exec_worker(const char* mode, std::size_t memory_limit_bytes, std::span<const int> inherit,
                           const worker_environment& environment, int socket_type);

/// How a wait status reads: "was killed by signal 11 (SIGSEGV)", "exited with status 3".
std::string describe_wait_status(int status, int& signal, int& code);

/// Non-blocking `reap`: nullopt while `pid` still runs. Waits for that PID only, so it never
/// takes the exit status of another child of the program.
std::optional<std::string> try_reap(pid_t pid, int& signal, int& code);

/// An eventfd, shared by the whole process and never closed, written once per SIGCHLD by a
/// handler installed on the first call (it calls the program's previous SIGCHLD handler too).
/// Watch it edge-triggered (EPOLLET) and never read it: every watcher wakes on every SIGCHLD.
/// Thread-safe. A program that replaces the SIGCHLD handler afterwards silences it, so
/// watchers also poll now and then.
int sigchld_event_fd();

/// The errno that `TRIDENT_PROC_FAULT` asks `call` ("spawn", "pidfd_open") to fail with, or 0.
/// The variable holds `call=ERRNO` pairs separated by commas (`spawn=EAGAIN`,
/// `pidfd_open=ENOSYS`): how the tests reach the start-failure and no-pidfd paths that only a
/// process limit, an old kernel or a seccomp filter would otherwise reach.
int injected_failure(const char* call);

/// Reaps `pid` (blocking) and describes how it ended: "killed by signal 11 (SIGSEGV)",
/// "exited with status 3". `signal` gets the signal number or 0, `code` the exit status or -1.
std::string reap(pid_t pid, int& signal, int& code);

/// "SIGSEGV" for 11, and so on.
std::string signal_name(int signal);

/// "cannot start worker process: [call: ]<strerror>", with a hint at `ulimit -u` for EAGAIN.
std::string start_failure_message(const char* call, int error);

/// The message every "worker never said hello" error carries.
std::string missing_guard_hint();

}  // namespace trident::proc::detail
