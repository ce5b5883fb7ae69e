#pragma once
/// @file
/// The mixed scenario's CPU-heavy work on one dataset: parse a CSV time series (`t,value`),
/// then order statistics, a linear trend, and the autocorrelation of the series at every lag up
/// to `max_autocorrelation_lag` rows, from which the dominant cycle is read. At full size (about
/// 75,000 rows) it takes about 150–200 ms on one core, most of it in the autocorrelation
/// (rows × lags multiply-adds).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "trident/proc/codec.hpp"

namespace trident::scenarios {

/// What the analysis finds. A plain value; crosses process boundaries (TRIDENT_SERIALIZABLE).
struct dataset_summary {
  std::size_t rows = 0;
  double mean = 0, stddev = 0, min = 0, max = 0;
  double median = 0, p05 = 0, p95 = 0;
  double trend_per_day = 0;     ///< Slope of the least-squares line, in value units per day.
  std::size_t period_rows = 0;  ///< Lag of the strongest autocorrelation after the first dip
                                ///< below zero (0: none within the lags examined).
  double period_strength = 0;   ///< The autocorrelation at that lag.
  TRIDENT_SERIALIZABLE(rows, mean, stddev, min, max, median, p05, p95, trend_per_day, period_rows, period_strength)
  friend bool operator==(const dataset_summary&, const dataset_summary&) = default;
};

/// Largest lag examined.
inline constexpr std::size_t max_autocorrelation_lag = 4096;

/// Analyses one dataset. Throws std::invalid_argument, naming the line, when the text is not a
/// `t,value` CSV with at least 16 rows. Pure function; thread safe.
[[nodiscard]] dataset_summary analyse_dataset(std::string_view csv);

/// A hash of every field of `s` (bit patterns of the doubles): equal summaries, equal digests.
[[nodiscard]] std::uint64_t summary_digest(const dataset_summary& s) noexcept;

}  // namespace trident::scenarios
