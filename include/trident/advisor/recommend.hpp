#pragma once
/// @file
/// `advisor::recommend`: picks an execution model from measured runs by a stated rule, and says
/// why with the figures. The rule is the same for `trident scenarios` and `advisor::advise`.
///
/// The rule (docs/advisor.md, "The rule"):
///  1. Only models that produced the expected results and are not excluded take part.
///  2. The *fastest* is the one with the least median wall time.
///  3. Another model *ties* with it when its median is within `time_tolerance` (10%) of the
///     fastest's, or when the ranges of their repeated runs overlap: the measurement cannot tell
///     them apart.
///  4. Walking the fastest and its ties from fastest to slowest, a model replaces the current
///     choice when it is *far lighter* — at most `memory_ratio` (three quarters) of its peak
///     memory, or, with memory alike, at most `thread_ratio` (half) of its threads + processes —
///     or when neither is far lighter and it is *simpler*: sequential, then threads, then async,
///     then processes, then hybrid.
/// The reason names the fastest model whenever another is chosen, with both sets of figures.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "trident/advisor/measure.hpp"

namespace trident::advisor {

/// One model's measured run, as the rule sees it.
struct candidate {
  std::string model;  ///< E.g. "threads_10", "processes_2", "async_200".
  /// "sequential", "threads", "async", "processes" or "hybrid": the rule's simplicity order.
  /// Another or none ranks after them all.
  std::string family;
  usage cost;  ///< The median run (by wall time) when the model ran more than once.
  /// Fastest and slowest wall time of the repeated runs; both 0 when the model ran once (its
  /// range is then `cost.wall_seconds` alone).
  double wall_min = 0;
  double wall_max = 0;
  bool correct = true;  ///< Produced the same results as every other model (and did not fail).
  /// Non-empty: measured and shown, but never recommended, for this reason (e.g. "CPU-bound work
  /// gains nothing from an event loop").
  std::string excluded;
};

struct recommend_options {
  double time_tolerance = 0.10;  ///< A tie: median ≤ fastest's median × (1 + this), or overlapping ranges.
  double memory_ratio = 0.75;    ///< "Far less memory": peak ≤ other's peak × this.
  double thread_ratio = 0.5;     ///< "Far fewer threads": threads+processes ≤ other's × this.
};

/// Why the chosen model won.
enum class pick_basis {
  fastest,  ///< The fastest, with no tie that is far lighter or simpler.
  lighter,  ///< Ties with the fastest and is far lighter.
  simpler,  ///< Ties with the fastest, neither is far lighter, and it is the simpler model.
};

/// "fastest", "lighter", "simpler".
[[nodiscard]] const char* to_string(pick_basis basis) noexcept;

/// The model chosen and why.
struct recommendation {
  std::string model;
  /// Sentences with figures a reader can check against the table, e.g. "async_200: 200 items in
  /// 1.10 s with 14.2 MB and 3 threads. It ties with the fastest, threads_200 (1.02 s with
  /// 210.0 MB and 202 threads): within 10%. Chosen as far lighter: 14.2 MB against 210.0 MB."
  std::string reason;
  std::size_t index = 0;  ///< Position of `model` in the candidates given.
  pick_basis basis = pick_basis::fastest;
  std::size_t fastest = 0;  ///< Position of the fastest model (== index when basis is fastest).
  /// Positions of the models that tie with the fastest (the fastest included when it is not the
  /// pick, the pick left out), fastest first.
  std::vector<std::size_t> ties;
};

/// Whether `a` and `b` cannot be told apart by time: medians within `options.time_tolerance` of
/// the faster one's, or overlapping ranges of repeated runs. Symmetric.
[[nodiscard]] bool ties(const candidate& a, const candidate& b, const recommend_options& options = {});

/// Applies the rule to `candidates`; std::nullopt when none is correct and not excluded. `items`
/// (e.g. 200 URLs) is only used in the reason's wording ("200 items in 1.10 s"); pass 0 to leave
/// it out.
[[nodiscard]] std::optional<recommendation> recommend(std::span<const candidate> candidates, std::size_t items = 0,
                                                      const recommend_options& options = {});

/// "14.2 MB", "1.3 GB": bytes for people (decimal units).
[[nodiscard]] std::string format_bytes(std::uint64_t bytes);

}  // namespace trident::advisor
