#pragma once
/// @file
/// `sample_resources`: what `trident soak` measures of its own process, read from /proc (Linux).
///
/// Thread safety: thread safe (reads /proc only).

#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "soak_bounds.hpp"

namespace trident::cli::soak {

/// The resources of this process now: VmRSS and Threads of /proc/self/status; the entries of
/// /proc/self/fd, those whose link reads "/memfd:..." counted apart (every shared segment
/// Trident makes is a memfd, so /dev/shm never shows them); `Shmem` of /proc/meminfo; and the
/// processes descended from this one, found through the parent PID in each /proc/PID/stat. A
/// value that cannot be read is -1.
[[nodiscard]] resource_sample sample_resources();

/// The processes descended from `ancestor` now (children, their children...), zombies included;
/// empty when /proc cannot be listed.
[[nodiscard]] std::vector<pid_t> descendants(pid_t ancestor);

/// Whether `pid` is a fork server of `owner`: a child of it whose command line is the process
/// layer's fork-server mode (the copy of the program that forks a process pool's workers,
/// docs/proc.md, and lives as long as its owner). Its workers have the same command line, but
/// the server as parent.
[[nodiscard]] bool is_fork_server_of(pid_t pid, pid_t owner);

}  // namespace trident::cli::soak
