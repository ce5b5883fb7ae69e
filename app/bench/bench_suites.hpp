#pragma once
/// @file
/// The benchmark suites behind `trident bench`: each runs the same workloads on Trident and on
/// its peers in one process and one run, and reports every figure as a table or JSON lines.

#include <string>
#include <vector>

namespace trident::bench {

struct bench_options {
  std::string suite;                ///< "threads", "async", "http", "process", "scenarios" or "cluster" (with MPI).
  std::vector<std::string> cases;   ///< Case names to run; empty: all.
  bool json = false;                ///< One JSON object per line instead of a table.
  int repeat = 3;                   ///< Runs per case and implementation; the median is reported.
};

/// Names of the suites this build provides.
std::vector<std::string> suite_names();

/// Runs one suite. Returns a process exit code. Throws std::invalid_argument for an unknown
/// suite or case.
int run_suite(const bench_options& options);

}  // namespace trident::bench
