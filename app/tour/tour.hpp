#pragma once
/// @file
/// The lesson's cells as one guided run: what `trident tour` calls.

#include <string>
#include <vector>

namespace trident::lesson {

struct tour_options {
  std::vector<std::string> only;  ///< Cell slugs or numbers to run; empty: all.
  bool list = false;              ///< Print the cells and exit.
  bool quiet = false;             ///< Only the summary table, not each cell's own output.
  /// The tour's --trace file, if any: a cell run by another executable records its own timeline
  /// beside it, in `STEM.SLUG.EXT` (tour.json: tour.transcribe.json), which the tour names.
  std::string trace;
};

/// Runs the selected cells in order, prints each one's output and a summary table of results
/// and timings. Returns a process exit code: 0 if every cell succeeded.
int run_tour(const tour_options& options);

}  // namespace trident::lesson
