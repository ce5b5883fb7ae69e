#pragma once
/// @file
/// `worker_main`: the first word a program gives Trident, so that the same binary can serve as
/// its own worker processes (the C++ counterpart of Python's `if __name__ == "__main__":`).
///
/// Process pools and `process` start workers from the program's own binary: they re-execute it
/// (`/proc/self/exe`) with a marker in `argv`, once as a fork server that forks the workers, or
/// once per worker with `TRIDENT_WORKER_START=exec`. Such a run must not execute the program's own
/// `main`; it must serve tasks instead:
///
/// @code
///   int main(int argc, char** argv) {
///     if (auto rc = trident::proc::worker_main(argc, argv)) return *rc;
///     ...  // the program proper
///   }
/// @endcode
///
/// A program that forgets the line gets a `worker_start_error` at pool start saying so, not a
/// hang: the worker never answers the handshake, and a pool created in such a stray worker
/// refuses to start (no chain of processes).

#include <optional>

namespace trident::proc {

/// If this process was started as a Trident worker, serves tasks until the parent lets it go
/// (or dies) and returns the exit code `main` should return; otherwise returns `std::nullopt`
/// at once and does nothing. Call it first thing in `main`, before any thread starts.
///
/// @par Thread safety
/// Call once, from `main`'s thread.
[[nodiscard]] std::optional<int> worker_main(int argc, char** argv);

/// The process name (`/proc/PID/comm`) of a program's fork server, the process that forks its
/// workers (docs/proc.md). Its command line is the program's with
/// `--trident-worker=fork-server`, and its workers, being its forks, share that command line but
/// keep the program's name: tools that walk a process tree tell the server apart by this name.
inline constexpr char fork_server_process_name[] = "trident-forksrv";

/// The second word of a fork server's command line (and of its workers', which are its forks).
/// Between its exec and the moment it takes its name (`fork_server_process_name`), a starting
/// server is known by this word and by a parent that is no fork server.
inline constexpr char fork_server_marker[] = "--trident-worker=fork-server";

/// Whether the calling process is a Trident worker (inside a task: true).
[[nodiscard]] bool is_worker_process() noexcept;

/// The PID of the process running the calling code: inside a task, the worker that runs it
/// (what the lesson prints as "process ID"). Thread-safe.
[[nodiscard]] int current_pid() noexcept;

}  // namespace trident::proc
