#pragma once
/// @file
/// Starting a worker: re-executing the program's own binary in worker mode. Internal.

#include <sys/types.h>

#include <cstddef>
#include <span>
#include <string>

namespace trident::proc::detail {

/// A started worker process and the parent's end of its channel.
struct spawned_worker {
  pid_t pid = -1;
  int socket = -1;  ///< Parent's end of the socketpair (close-on-exec, blocking).
  int pidfd = -1;   ///< Readable once the worker exits (close-on-exec).
};

/// Starts `/proc/self/exe --trident-worker=<mode> <fd> <parent pid> <memory limit>` with
/// posix_spawn (no fork of a threaded process), the channel as the only inherited descriptor,
/// default signal dispositions and an empty signal mask. The worker dies with the thread that
/// calls this (PR_SET_PDEATHSIG), so call it from a thread that lives as long as the worker's
/// owner. `inherit` lists further descriptors the worker gets under the same numbers (the
/// shared memory of `proc::queue`s handed to a `process`). Throws `worker_start_error`; refuses
/// inside a stray worker (see worker_main.hpp).
spawned_worker spawn_worker(const char* mode, std::size_t memory_limit_bytes, std::span<const int> inherit = {});

/// Reaps `pid` (blocking) and describes how it ended: "killed by signal 11 (SIGSEGV)",
/// "exited with status 3". `signal` gets the signal number or 0, `code` the exit status or -1.
std::string reap(pid_t pid, int& signal, int& code);

/// "SIGSEGV" for 11, and so on.
std::string signal_name(int signal);

/// The message every "worker never said hello" error carries.
std::string missing_guard_hint();

}  // namespace trident::proc::detail
