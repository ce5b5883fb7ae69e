#pragma once
/// @file
/// The one loop every `trident bench` suite runs its implementations through.
///
/// Method, the same in every suite:
///   1. `--case` names are checked against the rows of the suite's cases first; an unknown name
///      is an error that lists the valid ones, before anything is set up.
///   2. Per case: its setup (inputs built outside the timings), one untimed warm-up of each
///      implementation, then `repeat` rounds. Each round runs every implementation once, in
///      turn (for round r: for impl: run), so a burst of load from other processes on a shared
///      machine hits all of them alike. The suite pauses briefly between two runs, so one
///      runtime's spinning or exiting workers never take CPU from the next one.
///   3. Per row and implementation, the median of the rounds is reported, with the lowest and
///      highest round. A case measures all its rows in every run (sleepers_1m its time and its
///      bytes per task), so asking for any one of them runs the case, and only the rows asked
///      for are reported.
///   4. An implementation that cannot run here (a peer not installed) is noted once and left
///      out from then on; the others go on.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench_suites.hpp"
#include "implementation.hpp"
#include "report.hpp"

namespace trident::bench {

/// One workload of a suite: the rows it reports and the implementations that run it.
struct bench_case {
  std::vector<row_spec> rows;
  /// The implementation the table's speed-up column divides by ("" for none).
  std::string reference;
  std::function<void()> setup;     ///< Before the warm-ups (untimed); may be empty.
  std::function<void()> teardown;  ///< After the last round; may be empty.
  /// Shared: an implementation (a Python script) may serve several cases, and once it is
  /// unavailable it stays so for all of them.
  std::vector<std::shared_ptr<implementation>> impls;
};

/// The end of every suite run: with `--json` the rows were printed as each case finished, so only
/// the notes go out (to stderr, as `note: ` lines); otherwise the one table (print_table) with the
/// notes under it. Then `out` goes to `options.on_results`, if set (the report page). Returns the
/// suite's exit code (0).
int report_suite_results(const suite_results& out, const bench_options& options);

/// Runs the cases of one suite as the method above says.
///
/// Not thread-safe: one suite run at a time, driven from one thread.
class suite_runner {
 public:
  suite_runner(std::string suite, const bench_options& options, std::chrono::milliseconds settle);

  void add(bench_case c);

  /// Throws std::invalid_argument for a requested case that no added case reports (the same
  /// message in every suite). Suites with costly shared setup (nginx) call it before that setup;
  /// run() calls it again.
  void check_requested_cases() const;

  /// Whether `row` is selected (no `--case` selects every row).
  [[nodiscard]] bool wanted(const std::string& row) const;

  /// Runs every case with a selected row. With `--json`, prints each case's rows as soon as it
  /// is done (notes are the caller's to print). On a terminal, shows where it is on standard
  /// error (progress_line.hpp) until it returns.
  suite_results run();

  /// Adds a note, unless the same text is there already.
  void note(std::string text);

  /// Adds a goal of the suite; run() returns those of the cases it measured.
  void add_target(target t);

 private:
  std::string suite_;
  const bench_options& options_;
  std::chrono::milliseconds settle_;
  std::vector<bench_case> cases_;
  std::vector<std::string> notes_;
  std::vector<target> targets_;
};

}  // namespace trident::bench
