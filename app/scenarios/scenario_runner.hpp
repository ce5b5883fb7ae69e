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
  /// Runs of each model, in rounds: every model runs once per round, so that a slow moment of
  /// the machine falls on all of them. The report keeps each model's median run by wall time and
  /// the range, and the rule calls models whose ranges overlap a tie. 0: 3 at small size, 1 at
  /// full size (where one run of one model can take minutes).
  std::size_t repeat = 0;
  /// Measure each run in a process of its own (model_process.hpp), so that no model is charged
  /// for what earlier ones left behind. Needs a scenario made by a factory of the catalog (its
  /// models are made again from `scenario::inputs`); other scenarios run in this process.
  bool fresh_process = true;
  /// Called with a short line before each model runs ("web: threads_200…"); may be empty.
  std::function<void(const std::string&)> say;
  /// Called before each run: returning true stops the scenario early (e.g. after Ctrl-C); the
  /// report is then marked interrupted, holds the models that ran, and recommends nothing.
  std::function<bool()> stop_requested;
};

/// One model's measured run (the median of `repeat` runs by wall time).
struct model_run {
  std::string model;
  std::string family;
  std::size_t concurrency = 1;
  std::string description;
  bool ok = false;    ///< Ran without an unexpected failure.
  std::string error;  ///< Why not, when !ok.
  model_result result;
  advisor::usage cost;
  double wall_min = 0, wall_max = 0;  ///< Range of wall times over the repeats.
  std::size_t runs = 0;               ///< Runs that finished (fewer than asked when interrupted).
  double speedup = 0;                 ///< Sequential's wall time over this one's (0 without a sequential run).
  bool same_results = false;          ///< items, failed and digest equal those of the reference model.
  bool recommended = false;
  bool tie = false;  ///< Ties with the fastest model (recommend.hpp), and is not the recommended one.
};

/// What a scenario's run found.
struct scenario_report {
  std::string name;
  std::string title;
  std::string lesson_choice;
  scale size = scale::full;
  std::vector<model_run> runs;  ///< The models that ran, in the scenario's order.
  /// Stopped before every model finished its runs: the table is partial and `pick` is empty.
  bool interrupted = false;
  std::vector<std::string> not_run;  ///< Models that did not run at all (when interrupted).
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

/// One JSON object per model (one line each): scenario, model, family, concurrency, ok, runs,
/// wall_s, wall_min_s, wall_max_s, cpu_s, peak_bytes, threads, processes, speedup, items,
/// failed, same_results, recommended, tie (or error when not ok); then one line for the scenario:
/// {"scenario", "summary":true, "partial", "recommended" (a name or null), "basis", "reason",
/// "ties", "not_run", "remarks"}.
[[nodiscard]] std::vector<std::string> json_lines(const scenario_report& report);

}  // namespace trident::scenarios
