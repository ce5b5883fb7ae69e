#pragma once
/// @file
/// Runs a scenario under each of its models, measures each run (`advisor::measure`), checks that
/// every model produced the same results, and applies the advisor's rule to name the best model.
/// Also renders the report as a table for people and as JSON lines.

#include <cstddef>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "scenario.hpp"
#include "trident/advisor/measure.hpp"
#include "trident/advisor/recommend.hpp"

namespace trident::scenarios {

struct run_options {
  /// Runs of each model; the report keeps the run with the median wall time.
  std::size_t repeat = 1;
  /// Called with a short line before each model runs ("web: threads_200…"); may be empty.
  std::function<void(const std::string&)> say;
  /// Called between runs: returning true stops the scenario early (e.g. after Ctrl-C); the
  /// report then holds the models that finished.
  std::function<bool()> stop_requested;
};

/// One model's measured run (the median of `repeat` runs by wall time).
struct model_run {
  std::string model;
  std::string family;
  std::size_t concurrency = 1;
  std::string description;
  bool ok = false;     ///< Ran without an unexpected failure.
  std::string error;   ///< Why not, when !ok.
  model_result result;
  advisor::usage cost;
  double wall_min = 0, wall_max = 0;  ///< Range of wall times over the repeats.
  double speedup = 0;       ///< Sequential's wall time over this one's (0 without a sequential run).
  bool same_results = false;  ///< items, failed and digest equal those of the reference model.
  bool recommended = false;
};

/// What a scenario's run found.
struct scenario_report {
  std::string name;
  std::string title;
  std::string lesson_choice;
  std::vector<model_run> runs;
  std::optional<advisor::recommendation> pick;
  /// Lines computed from the figures where C++ differs from the lesson's advice (e.g. threads
  /// using every core for CPU-bound work).
  std::vector<std::string> remarks;
};

/// Runs every model of `s` in order. Never throws for a model's failure (recorded in its run).
[[nodiscard]] scenario_report run_scenario(const scenario& s, const run_options& options = {});

/// The report as a table with the recommendation and remarks, for a terminal or a log (lines
/// end in '\n').
[[nodiscard]] std::string format_report(const scenario_report& report);

/// Writes `format_report(report)` to `out`.
void print_report(std::FILE* out, const scenario_report& report);

/// One JSON object per model (one line each): scenario, model, family, concurrency, wall_s,
/// cpu_s, peak_bytes, threads, processes, speedup, items, failed, same_results, ok, recommended.
[[nodiscard]] std::vector<std::string> json_lines(const scenario_report& report);

}  // namespace trident::scenarios
