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

/// The median of `values` (mean of the middle two for an even count). Throws on empty input.
double median(std::vector<double> values);

/// One measured figure: the median over the rounds of one implementation on one case.
struct result {
  std::string suite;
  std::string case_name;
  std::string impl;
  double value = 0;
  std::string unit;
  bool higher_is_better = true;  ///< tasks/s: true; seconds: false.
  std::string reference;         ///< The impl this row's ratio is taken against ("" for none).
  double low = 0;                ///< The lowest round.
  double high = 0;               ///< The highest round.
  std::size_t runs = 0;          ///< How many rounds the median is of.
};

/// The row of `impl` on `case_name`, or nullptr.
const result* find_result(const std::vector<result>& rows, const std::string& case_name, const std::string& impl);

/// `{"suite":…,"case":…,"impl":…,"value":…,"unit":…}` and a newline; nothing else.
void print_json_line(std::ostream& out, const result& r);

/// A table of `rows` with each median's range and a speed-up column against each row's reference
/// in the same case (>1 means faster than the reference, whichever way the unit runs), then `notes`.
void print_table(std::ostream& out, const std::vector<result>& rows, const std::vector<std::string>& notes);

/// `low-high` of a row's rounds, for tables of a suite's own layout.
std::string format_range(const result& r);

/// A value with a k or M suffix and four significant digits.
std::string format_value(double v);

}  // namespace trident::bench
