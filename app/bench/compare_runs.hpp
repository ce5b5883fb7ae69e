#pragma once
/// @file
/// `trident bench compare A.json B.json`: what changed between two runs saved with `--json`,
/// case by case. Per case, the baseline's (Trident's) median from A to B, then for every other
/// implementation the ratio to the baseline in A and in B, each with its range over the rounds,
/// and how much it moved: a change can show that it moved its own case and nothing else.
///
/// Pure functions but for the files `run_compare` reads; thread-safe.

#include <iosfwd>
#include <string>
#include <vector>

#include "report.hpp"

namespace trident::bench {

/// The comparison of run `a` with run `b` (rows of any suites; a case or implementation in one
/// run only is listed as such).
void print_comparison(std::ostream& out, const std::vector<result>& a, const std::vector<result>& b);

/// Reads two `--json` outputs and prints their comparison to `out`. Returns 0; throws
/// std::invalid_argument for a file that cannot be read or holds no results.
int run_compare(const std::string& a_path, const std::string& b_path, std::ostream& out);

}  // namespace trident::bench
