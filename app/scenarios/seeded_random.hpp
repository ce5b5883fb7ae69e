#pragma once
/// @file
/// `seeded_random`: the scenarios' deterministic generator (SplitMix64). The same seed gives the
/// same numbers on every platform and standard library, unlike `std::uniform_*_distribution`,
/// so URL lists, pages and datasets are the same wherever they are drawn.
///
/// A plain value; one thread at a time per object.

#include <cmath>
#include <cstdint>

#include "content_hash.hpp"

namespace trident::scenarios {

class seeded_random {
 public:
  explicit seeded_random(std::uint64_t seed) noexcept : state_(seed) {}
  std::uint64_t next() noexcept {
    state_ += 0x9e3779b97f4a7c15ULL;
    return mix64(state_);
  }
  /// Uniform in [0, 1).
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  /// Uniform in [lo, hi).
  double uniform(double lo, double hi) noexcept { return lo + (hi - lo) * uniform(); }
  /// Log-uniform in [lo, hi): as many values between 50 and 100 as between 100 and 200 — the
  /// skew of real latencies and sizes. Needs 0 < lo <= hi.
  double log_uniform(double lo, double hi) noexcept { return lo * std::exp(std::log(hi / lo) * uniform()); }
  /// Uniform integer in [0, n); n > 0.
  std::uint64_t below(std::uint64_t n) noexcept { return next() % n; }

 private:
  std::uint64_t state_;
};

}  // namespace trident::scenarios
