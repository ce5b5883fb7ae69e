#pragma once
/// @file
/// Helpers shared by the `trident bench` suites: a stopwatch, medians, and the two output
/// formats (a table, or one JSON object per line with exactly suite/case/impl/value/unit).

#include <chrono>
#include <iosfwd>
#include <string>
#include <vector>

namespace trident::bench {

/// Wall-clock seconds since construction (steady clock).
class stopwatch {
 public:
  stopwatch() noexcept : start_(std::chrono::steady_clock::now()) {}
  [[nodiscard]] double seconds() const noexcept {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

/// One JSON line a comparison script printed (impl empty if the line had none).
struct script_row {
  std::string case_name;
  std::string impl;
  double value = 0;
  std::string unit;
};

/// What a comparison script printed and how it ended.
struct script_output {
  std::vector<script_row> rows;     ///< Its `{...}` lines.
  std::vector<std::string> notes;   ///< Its `note: ` lines, without the prefix.
  bool ok = false;                  ///< It started and exited with status 0.
  std::string failure;              ///< Why not, for a note.
};

/// Runs `command` through the shell and parses its standard output.
script_output run_script(const std::string& command);

/// The median of `values` (mean of the middle two for an even count). Throws on empty input.
double median(std::vector<double> values);

/// One measured figure: the median over the repeats of one implementation on one case.
struct result {
  std::string suite;
  std::string case_name;
  std::string impl;
  double value = 0;
  std::string unit;
  bool higher_is_better = true;  ///< tasks/s: true; seconds: false.
  std::string reference;         ///< The impl this row's ratio is taken against ("" for none).
};

/// `{"suite":…,"case":…,"impl":…,"value":…,"unit":…}` and a newline; nothing else.
void print_json_line(std::ostream& out, const result& r);

/// A table of `rows` with a speed-up column against each row's reference in the same case
/// (>1 means faster than the reference, whichever way the unit runs), then `notes`.
void print_table(std::ostream& out, const std::vector<result>& rows, const std::vector<std::string>& notes);

}  // namespace trident::bench
