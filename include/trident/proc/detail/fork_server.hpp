#pragma once
/// @file
/// The worker starter (fork server): a copy of the program, started once by re-exec, that forks
/// workers on request. Internal.
///
/// Re-executing the binary for every worker pays the program's whole start-up each time: the
/// dynamic loader maps every shared library the binary links (the `trident` command links 177,
/// which takes it about 40 ms), and static initialisers run. The fork server pays that once per
/// owner process and environment: it is started like a worker (posix_spawn of `/proc/self/exe`),
/// so it is single-threaded and has run nothing but static initialisation and `worker_main`, which
/// makes `fork()` in it safe; each worker is a fork of it (about 1 ms), served by the same
/// `worker_main` code as an executed worker.
///
/// What the owner keeps:
/// - **Crash attribution and exit statuses.** Workers are the server's children; it reaps each at
///   once and sends the wait status to the owner, where `reap`/`try_reap` find it. The owner
///   watches each worker's pidfd as before (a pidfd works on any process, child or not).
/// - **Death with the owner.** The server has no parent-death signal (that follows the thread
///   that started it, and a pool's thread may end before the program); it exits when its socket
///   to the owner reaches end of file, which happens when the owner process ends, however it
///   ends. Each worker has `PR_SET_PDEATHSIG` on the single-threaded server, and its own channel
///   to the owner as before.
/// - **The environment at exec time.** Variables read when a process starts (the loader's,
///   glibc tunables, sanitizer options, static initialisers) must be the owner's at the time the
///   worker starts, as with exec: the server is keyed by the environment it was started with,
///   and a request made under another environment starts another server. A server whose
///   environment is stale is retired once it has no workers left.
///
/// `TRIDENT_WORKER_START=exec` turns the server off (every worker is executed); where pidfds are
/// unavailable it is off too, since the owner could not see a non-child exit.

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "trident/proc/detail/start_process.hpp"

namespace trident::proc::detail {

/// What a worker forked by the server serves: handed to `worker_main` in the child.
struct forked_worker {
  bool one_shot = false;  ///< "process" mode: one task, then exit.
  int channel = -1;
  std::size_t memory_limit_bytes = 0;
  pid_t parent = -1;  ///< The server, which the worker must outlive no longer than.
};

/// The server's loop, run by `worker_main` for `--trident-worker=fork-server <socket>`. Returns
/// nullopt in the server once the owner has closed the socket, and a `forked_worker` in each
/// child it forks. Call only in a single-threaded process.
std::optional<forked_worker> serve_fork_requests(int socket);

/// Starts a worker through the fork server for `environment` (what exec would pass), starting
/// that server first where needed and waiting for its handshake up to `start_timeout`. Returns nullopt when the server cannot be used here (turned
/// off, no pidfds, too many environments); the caller then executes the worker itself. Throws
/// `worker_start_error` when the program cannot serve (no `worker_main` line; the message says
/// so) or the fork fails (process limit). Thread-safe.
std::optional<started_worker> fork_worker(const char* mode, std::size_t memory_limit_bytes,
                                          std::span<const int> inherit, const worker_environment& environment,
                                          std::chrono::milliseconds start_timeout);

/// How far a worker started by `fork_worker` has got.
enum class forked_exit { not_forked, running, ended };

/// Looks `pid` up among the fork server's workers. `ended`: `how`, `signal` and `code` are set
/// as by `reap`, and the entry is forgotten. `block` waits for the end. Thread-safe.
forked_exit reap_forked(pid_t pid, bool block, std::string& how, int& signal, int& code);

/// Whether `TRIDENT_WORKER_START` allows the fork server.
bool fork_server_enabled();

}  // namespace trident::proc::detail
