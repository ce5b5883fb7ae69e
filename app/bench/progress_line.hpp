#pragma once
/// @file
/// The line `trident bench` keeps on a terminal while a suite runs: the suite, the case, the
/// round and the time left, redrawn in place and cleared at the end. On a pipe or a file it
/// writes nothing, so captured output (`--json`, a table piped on) never holds it.
///
/// Thread safety: a `progress_line` belongs to the one thread that drives the suite.

#include <optional>
#include <string>

namespace trident::bench {

/// Where a suite run is.
struct progress_point {
  std::string suite;
  std::string case_name;
  int case_index = 1;  ///< 1-based, among the cases this run measures
  int case_count = 1;
  int round = 0;  ///< 0: warming up; else 1-based
  int rounds = 1;
  std::optional<double> eta_s;  ///< Seconds left for the whole run; empty until one round is timed
};

/// "bench threads · case 2/4 future_int · round 1/3 · ETA 0:42", never wider than `width`
/// columns (the end is cut). No control characters. Pure.
[[nodiscard]] std::string progress_text(const progress_point& p, int width);

/// Draws `progress_text` on the standard error of a terminal.
class progress_line {
 public:
  /// Draws only when `enabled` and standard error is a terminal.
  explicit progress_line(bool enabled);
  progress_line(const progress_line&) = delete;
  progress_line& operator=(const progress_line&) = delete;
  /// Clears the line.
  ~progress_line();

  /// Whether anything is drawn.
  [[nodiscard]] bool active() const noexcept { return active_; }

  /// Replaces the line with `p`.
  void show(const progress_point& p);

  /// Removes the line (before anything else is printed); it comes back with the next `show`.
  void clear();

 private:
  bool active_;
  bool shown_ = false;
};

}  // namespace trident::bench
