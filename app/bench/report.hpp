#pragma once
/// @file
/// What a `trident bench` suite measured, as data, and the one table every suite prints it as:
/// a stopwatch and medians for the suites, the rows (`result`), the goals a suite sets
/// (`target`), a suite's whole outcome (`suite_results`) and the ratios read from them.
///
/// Every function here is pure (or writes only to the stream it is given): thread-safe on
/// distinct arguments.

#include <chrono>
#include <functional>
#include <iosfwd>
#include <optional>
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
  std::string reference;         ///< The impl the suite compares this case with ("" for none).
  double low = 0;                ///< The lowest round.
  double high = 0;               ///< The highest round.
  std::size_t runs = 0;          ///< How many rounds the median is of.
};

/// A goal a suite sets for one case: `impl`'s median against a bound of its own
/// (`versus` empty: at least `bound` for a rate, at most for a cost), or `impl`'s advantage over
/// `versus` (how many times better, see `advantage`) at least `bound`.
struct target {
  std::string case_name;
  std::string impl = "trident";
  std::string versus;
  double bound = 0;
  std::string text;  ///< How a reader says it: ">=50x uvloop", "<=5 ns".
};

/// Everything one suite run gave: rows in case order, notes without repeats, its targets.
struct suite_results {
  std::string suite;
  std::vector<result> rows;
  std::vector<std::string> notes;
  std::vector<target> targets;
};

/// The row of `impl` on `case_name`, or nullptr.
const result* find_result(const std::vector<result>& rows, const std::string& case_name, const std::string& impl);

/// The row a case's ratios are taken against: Trident's ("trident"), else the case's first row
/// (a suite whose every row is Trident's, such as cluster), or nullptr for an unknown case.
const result* baseline_of(const std::vector<result>& rows, const std::string& case_name);

/// A ratio with its spread over the rounds.
struct ratio_range {
  double median = 0;
  double low = 0;   ///< `mine`'s worst round against `other`'s best.
  double high = 0;  ///< `mine`'s best round against `other`'s worst.
};

/// How many times better `mine` is than `other` on the same case (mine / other for rates,
/// other / mine for costs; > 1: `mine` is ahead), or empty when a value is not positive.
std::optional<ratio_range> advantage(const result& mine, const result& other);

/// The value `t.impl` has to reach on `rows` (the line a chart draws), or empty without the
/// rows it needs.
std::optional<double> target_value(const target& t, const std::vector<result>& rows);

/// Whether `rows` meet `t`, and the figure compared with the bound (a ratio or a value); empty
/// without the rows it needs.
struct target_check {
  bool met = false;
  double figure = 0;
};
std::optional<target_check> check_target(const target& t, const std::vector<result>& rows);

/// The suite's one table layout: per case, every implementation's median, unit, range and how
/// many times better the case's baseline (`baseline_of`) is than it, with that ratio's range;
/// then each target met or missed, then the notes.
void print_table(std::ostream& out, const suite_results& results);

/// `low-high` of a row's rounds, or "-" for a single round.
std::string format_range(const result& r);

/// A value with a k or M suffix and four significant digits.
std::string format_value(double v);

}  // namespace trident::bench
