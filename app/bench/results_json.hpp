#pragma once
/// @file
/// Benchmark results as JSON, both ways: the `--json` lines `trident bench` prints (one object
/// per case and implementation, read back by `trident bench compare`), and a suite's whole
/// outcome as one document (rows, notes, targets), which `trident bench all` reads from the
/// suites it runs in other executables, and from which a report page is drawn.
///
/// Pure functions of their arguments (thread-safe); the readers throw std::invalid_argument on
/// text that is not what the writers write.

#include <iosfwd>
#include <string>
#include <vector>

#include "report.hpp"

namespace trident::bench {

/// `{"suite":…,"case":…,"impl":…,"value":…,"unit":…,"low":…,"high":…,"runs":…,"better":…}` and a
/// newline: the median, the lowest and highest round, how many rounds, and "higher" or "lower"
/// (which way the unit is better). A reader that needs only the first five keys ignores the rest.
void print_json_line(std::ostream& out, const result& r);

/// The rows of a `--json` output (other lines, such as `note: ` ones, are skipped), grouped by
/// suite in the order they came. A line without "low"/"high"/"runs" counts as one round at its
/// value; without "better", a unit ending in "/s" is a rate and any other a cost.
std::vector<suite_results> parse_json_lines(const std::string& text);

/// One suite's outcome as a JSON document, and back.
std::string to_json(const suite_results& results);
suite_results suite_results_from_json(const std::string& text);

}  // namespace trident::bench
