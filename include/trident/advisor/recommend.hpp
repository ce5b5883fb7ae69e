#pragma once
/// @file
/// `advisor::recommend`: picks an execution model from measured runs by a stated rule, and says
/// why with the figures. The rule is the same for `trident scenarios` and `advisor::advise`.
///
/// The rule: take the fastest model (least wall time) among those that produced the expected
/// results. Any other correct model whose time is within `time_tolerance` (10%) of the fastest
/// is a *near tie*; among the fastest and its near ties, prefer the one with the smallest
/// footprint — first peak memory, when the two differ by at least `memory_ratio` (a quarter less),
/// then threads + processes, when they differ by at least `thread_ratio` (a half fewer).
/// Otherwise the fastest stays.

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "trident/advisor/measure.hpp"

namespace trident::advisor {

/// One model's measured run, as the rule sees it.
struct candidate {
  std::string model;  ///< E.g. "threads_10", "processes_2", "async_200".
  usage cost;
  bool correct = true;  ///< Produced the same results as every other model (and did not fail).
};

struct recommend_options {
  double time_tolerance = 0.10;  ///< A near tie: wall ≤ fastest × (1 + this).
  double memory_ratio = 0.75;    ///< "Far less memory": peak ≤ other's peak × this.
  double thread_ratio = 0.5;     ///< "Fewer threads": threads+processes ≤ other's × this.
};

/// The model chosen and why.
struct recommendation {
  std::string model;
  /// One line with figures, e.g. "async_200: 200 items in 1.10 s with 14.2 MB and 3 threads;
  /// the next, threads_200, took 1.18 s with 210.0 MB and 202 threads".
  std::string reason;
  std::size_t index = 0;  ///< Position of `model` in the candidates given.
};

/// Applies the rule to `candidates`; std::nullopt when none is correct. `items` (e.g. 200 URLs)
/// is only used in the reason's wording ("200 items in 1.10 s"); pass 0 to leave it out.
[[nodiscard]] std::optional<recommendation> recommend(std::span<const candidate> candidates, std::size_t items = 0,
                                                      const recommend_options& options = {});

/// "14.2 MB", "1.3 GB": bytes for people (decimal units).
[[nodiscard]] std::string format_bytes(std::uint64_t bytes);

}  // namespace trident::advisor
