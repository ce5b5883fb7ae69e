#pragma once
/// @file
/// CPU time of ended workers that `getrusage(RUSAGE_CHILDREN)` does not count yet.
///
/// Workers are forked by the program's fork server (see docs/proc.md), which reaps them; the
/// kernel adds their CPU time to the server's children, and to this process's only when the
/// server itself ends. A program that measures its CPU time with `getrusage(RUSAGE_SELF)` plus
/// `RUSAGE_CHILDREN` adds this to see the workers that have ended meanwhile.

namespace trident::proc {

/// CPU seconds, user and system.
struct worker_cpu_time {
  double user_seconds = 0;
  double system_seconds = 0;
};

/// The CPU time of the workers forked by this process's running fork servers that have ended
/// and been reported to this process (a worker's pool or `process` learns of its end at once).
/// When a server ends and this process reaps it, the kernel counts its workers in
/// `RUSAGE_CHILDREN` and they leave this sum, so the two added never count a worker twice.
/// Thread-safe; lock-free.
[[nodiscard]] worker_cpu_time forked_workers_cpu_time() noexcept;

}  // namespace trident::proc
