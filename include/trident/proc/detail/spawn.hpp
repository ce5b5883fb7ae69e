#pragma once
/// @file
/// Starting a worker: re-executing the program's own binary in worker mode. Internal.

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace trident::proc::detail {

/// A started worker process and the parent's end of its channel.
struct spawned_worker {
  pid_t pid = -1;
  int socket = -1;  ///< Parent's end of the socketpair (close-on-exec, blocking).
  /// Readable once the worker exits (close-on-exec); -1 where pidfd_open is unavailable
  /// (ENOSYS before Linux 5.3, EPERM under some seccomp filters and valgrind): the owner then
  /// learns of the exit from `sigchld_event_fd()` and reaps with `try_reap`.
  int pidfd = -1;
};

/// Starts `/proc/self/exe --trident-worker=<mode> <fd> <parent pid> <memory limit>` with
/// posix_spawn (no fork of a threaded process), the channel as the only inherited descriptor,
/// default signal dispositions and an empty signal mask. The worker dies with the thread that
/// calls this (PR_SET_PDEATHSIG), so call it from a thread that lives as long as the worker's
/// owner. `inherit` lists further descriptors the worker gets under the same numbers (the
/// shared memory of `proc::queue`s handed to a `process`). Throws `worker_start_error`; refuses
/// inside a stray worker (see worker_main.hpp). Variables whose names start with one of
/// `withheld_environment` are left out of the worker's environment.
spawned_worker spawn_worker(const char* mode, std::size_t memory_limit_bytes, std::span<const int> inherit = {},
                            const std::vector<std::string>& withheld_environment = {});

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

/// The message every "worker never said hello" error carries.
std::string missing_guard_hint();

}  // namespace trident::proc::detail
