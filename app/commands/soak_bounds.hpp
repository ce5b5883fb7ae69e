#pragma once
/// @file
/// What `trident soak` measures of its own process every check period, and the bounds that
/// say "this grew": a sample of the resources (`resource_sample`), the growth each may show
/// over the baseline taken after the warm-up (`growth_limits`), and the pure check of one
/// against the other (`check_growth`). Reading the samples from /proc is soak_resources.hpp's.
///
/// Thread safety: plain values and pure functions; thread safe.

#include <cstdint>
#include <string>
#include <vector>

namespace trident::cli::soak {

/// One measurement of the soak's process, all at about the same instant.
struct resource_sample {
  std::int64_t rss_bytes = 0;    ///< Resident set (VmRSS of /proc/self/status).
  std::int64_t descriptors = 0;  ///< Open descriptors that are not memfds.
  std::int64_t memfds = 0;       ///< Open descriptors on memfds (shared segments, IPC queues).
  std::int64_t shmem_bytes = 0;  ///< `Shmem` of /proc/meminfo: the whole machine's shared memory.
  std::int64_t threads = 0;      ///< Threads of this process (Threads of /proc/self/status).
  std::int64_t processes = 0;    ///< Descendant processes (children, their children...), zombies included.
};

/// How far above its baseline each resource may go before the soak fails. The defaults are
/// the bounds `trident soak --help` and docs/soak.md state: room for what a load holds at one
/// instant (a round of IPC processes, a replacement worker, connections being retried), none
/// for what piles up — a descriptor or a process leaked per fault adds hundreds in a long run.
struct growth_limits {
  std::int64_t rss_bytes = std::int64_t{64} << 20;  ///< 64 MiB
  std::int64_t descriptors = 64;
  std::int64_t memfds = 16;
  std::int64_t shmem_bytes = std::int64_t{256} << 20;  ///< 256 MiB (machine-wide, so with room for others)
  std::int64_t threads = 16;
  std::int64_t processes = 8;
};

/// A resource beyond its bound: its name, the baseline, the value now and the bound (baseline
/// plus the allowed growth).
struct growth_violation {
  std::string resource;  ///< "RSS", "open descriptors", "memfd descriptors", "Shmem", "threads", "child processes"
  std::int64_t start = 0;
  std::int64_t now = 0;
  std::int64_t bound = 0;
  bool bytes = false;  ///< The values are bytes (said in MiB).

  /// "open descriptors grew from 31 at the baseline to 97, beyond the bound 95 (baseline + 64)".
  [[nodiscard]] std::string message() const;
};

/// Each resource of `now` above `baseline` + its limit, in the order of `resource_sample`'s
/// fields; empty when everything is within bounds. A value at the bound is within it; a
/// resource that shrank is never a violation. Pure function.
[[nodiscard]] std::vector<growth_violation> check_growth(const resource_sample& baseline, const resource_sample& now,
                                                         const growth_limits& limits);

/// The limits as one line for --help and the summary: "RSS +64 MiB, descriptors +64, ...".
[[nodiscard]] std::string describe(const growth_limits& limits);

}  // namespace trident::cli::soak
