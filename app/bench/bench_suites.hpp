#pragma once
/// @file
/// The benchmark suites behind `trident bench`: each runs the same workloads on Trident and on
/// its peers in one process and one run, and reports every figure as a table or JSON lines.
///
/// Each program of the product runs the suites it links: `trident` the light ones
/// (`light_suites()`), and each heavy command's executable its own (trident-scenarios the
/// scenarios suite, trident-transcribe the media suite, trident-cluster-demo the cluster suite),
/// which `trident bench` reaches by running that executable (app/commands/command_line.hpp).

#include <functional>
#include <span>
#include <string>
#include <vector>

namespace trident::bench {

struct suite_results;

struct bench_options {
  std::string suite;               ///< A suite's name: "threads", "async", "http", "process", ...
  std::vector<std::string> cases;  ///< Case names to run; empty: all.
  bool json = false;               ///< One JSON object per line instead of a table.
  int repeat = 3;                  ///< Runs per case and implementation; the median is reported.
  std::string report;              ///< `--report FILE.html`: the page of the run's results ("": none).
  std::string results;             ///< `--results FILE`: the suite's results as one JSON document.
  bool progress = true;            ///< The progress line on a terminal (progress_line.hpp).
  /// Called with what the suite measured, after its table or notes are printed (may be empty).
  std::function<void(const suite_results&)> on_results;
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
/// with what was measured so far). Then writes `options.results` (the suite's results document,
/// results_json.hpp) and `options.report` (the page, html_report.hpp), each atomically. Returns a
/// process exit code. Throws std::invalid_argument for --repeat below 1, an unknown suite or an
/// unknown case, std::system_error when a file cannot be written.
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
