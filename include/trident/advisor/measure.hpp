#pragma once
/// @file
/// `advisor::measure`: what a piece of work cost — wall time, CPU time, and the peak memory,
/// threads and processes of the whole process tree while it ran. The figures behind every
/// recommendation the advisor makes (`recommend.hpp`, `advise.hpp`) and behind
/// `trident scenarios`.

#include <cstdint>
#include <functional>
#include <string>

namespace trident::advisor {

/// The cost of one measured run.
struct usage {
  double wall_seconds = 0;
  /// User + system CPU time of this process and of the child processes that ended (and were
  /// waited for) during the run: a process pool created and destroyed inside the run counts.
  double cpu_seconds = 0;
  /// Peak memory of the whole process tree (this process plus every descendant), in bytes: the
  /// largest sum seen by the sampler of each process's anonymous and shared-memory pages
  /// (RssAnon + RssShmem; file pages such as the program's code are left out, docs/advisor.md).
  /// Sampled, so a spike shorter than the sampling period can be missed.
  std::uint64_t peak_bytes = 0;
  /// The most threads alive at once in the tree (this process's threads included), sampled.
  int peak_threads = 0;
  /// The most processes alive at once in the tree, this one included (1: no children).
  int peak_processes = 0;
  /// How `peak_bytes` was obtained: "proc" (sampling /proc/PID/status of the tree).
  std::string memory_source;

  /// CPU time over wall time: about 1 for one busy core, near 0 for waiting, ~N for N busy cores.
  [[nodiscard]] double cpu_per_wall() const noexcept { return wall_seconds > 0 ? cpu_seconds / wall_seconds : 0; }
};

/// How `measure` samples the process tree.
struct measure_options {
  /// Period of the sampler thread that reads /proc for the tree's memory, threads and processes.
  std::uint32_t sample_period_ms = 5;
};

/// Runs `body` on the calling thread and returns what it cost. A sampler thread (started before
/// `body` and joined after it) walks this process's descendants in /proc every
/// `sample_period_ms`; its own thread is not counted. Memory is reported relative to nothing: it
/// is the tree's total resident size, so what the process held before the run is included —
/// compare runs made by the same process.
///
/// Exceptions from `body` propagate after the sampler has stopped.
///
/// @par Thread safety
/// Any thread may call it, but CPU time is that of the whole process, so concurrent measurements
/// in one process see each other's work: measure one thing at a time.
[[nodiscard]] usage measure(const std::function<void()>& body, const measure_options& options = {});

/// Resident bytes, threads and processes of this process's tree now (one sample). A fork server
/// (the process layer's worker starter) is not counted itself, starting or started; its workers
/// are.
struct tree_sample {
  /// Memory the tree's processes own: anonymous and shared-memory pages (see `usage::peak_bytes`).
  std::uint64_t resident_bytes = 0;
  int threads = 0;
  int processes = 0;
};
[[nodiscard]] tree_sample sample_process_tree();

}  // namespace trident::advisor
