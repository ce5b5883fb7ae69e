#pragma once
/// @file
/// The page `trident bench ... --report FILE.html` writes: one self-contained HTML file (inline
/// SVG, CSS and a few lines of script; nothing fetched), a chart per case with every
/// implementation's median as a bar and its lowest and highest round as a whisker, the ratio to
/// the case's baseline (Trident) beside each, the suite's targets as dashed lines, and the
/// machine and the date the figures were taken on.
///
/// The page is drawn from results as data (report.hpp), so it can be drawn from a stored run.
/// Functions are pure but for the clock, /proc and uname reads of `machine_now` and the file
/// written by `write_html_report`; thread-safe.

#include <array>
#include <string>
#include <vector>

#include "report.hpp"

namespace trident::bench {

/// What the figures were measured on, and when.
struct machine_info {
  unsigned cores = 0;                   ///< Hardware threads.
  std::array<double, 3> load_before{};  ///< 1, 5, 15-minute load averages when the run began.
  std::array<double, 3> load_after{};   ///< And when it ended.
  std::string kernel;                   ///< `uname -srm`.
  std::string compiler;                 ///< What compiled this program.
  std::string date;                     ///< UTC, ISO 8601, when the run began.
};

/// The machine now: load_before and load_after both the current load.
[[nodiscard]] machine_info machine_now();

/// The current 1, 5 and 15-minute load averages (zeros where they cannot be read).
[[nodiscard]] std::array<double, 3> load_average_now();

/// The page for `suites` measured on `machine`.
[[nodiscard]] std::string render_html_report(const std::vector<suite_results>& suites, const machine_info& machine);

/// Writes the page to `path` atomically (core/atomic_file.hpp): the file is the whole new page
/// or what was there before. Throws std::system_error.
void write_html_report(const std::string& path, const std::vector<suite_results>& suites, const machine_info& machine);

/// Writes `text` to `path` atomically, replacing what was there.
void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace trident::bench
