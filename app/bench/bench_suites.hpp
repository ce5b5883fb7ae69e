#pragma once
/// @file
/// The benchmark suites behind `trident bench`: each runs the same workloads on Trident and on
/// its peers in one process and one run, and reports every figure as a table or JSON lines.
///
/// Each program of the product runs the suites it links: `trident` the light ones
/// (`light_suites()`), and each heavy command's executable its own (trident-scenarios the
/// scenarios suite, trident-transcribe the media suite, trident-cluster-demo the cluster suite),
/// which `trident bench` reaches by running that executable (app/commands/command_line.hpp).

#include <span>
#include <string>
#include <vector>

namespace trident::bench {

struct bench_options {
  std::string suite;                ///< A suite's name: "threads", "async", "http", "process", ...
  std::vector<std::string> cases;   ///< Case names to run; empty: all.
  bool json = false;                ///< One JSON object per line instead of a table.
  int repeat = 3;                   ///< Runs per case and implementation; the median is reported.
};

/// One suite: its name on the command line and what runs it (returns a process exit code;
/// throws std::invalid_argument for an unknown case).
struct suite {
  const char* name;
  int (*run)(const bench_options& options);
};

/// The suites every build of `trident` runs in its own process: threads, async, http, process.
[[nodiscard]] std::span<const suite> light_suites() noexcept;

/// Runs `options.suite`, one of `suites`, with the stop signals guarded (Ctrl-C ends the run
/// with what was measured so far). Returns a process exit code. Throws std::invalid_argument
/// for --repeat below 1, an unknown suite or an unknown case.
int run_suite(const bench_options& options, std::span<const suite> suites);

// Each suite, defined in its own <name>_suite.cpp.
int run_threads_suite(const bench_options& options);
int run_async_suite(const bench_options& options);
int run_http_suite(const bench_options& options);
int run_process_suite(const bench_options& options);
int run_scenarios_suite(const bench_options& options);  ///< trident_bench_scenarios
int run_media_suite(const bench_options& options);      ///< trident_bench_media
int run_cluster_suite(const bench_options& options);    ///< trident_bench_cluster

}  // namespace trident::bench
