// advisor::recommend: the stated rule (recommend.hpp) applied to measured runs.

#include "trident/advisor/recommend.hpp"

#include <fmt/format.h>

#include <cstddef>

namespace trident::advisor {
namespace {

std::string figures(const candidate& c) {
  return fmt::format("{:.2f} s with {} and {} thread{}{}", c.cost.wall_seconds, format_bytes(c.cost.peak_bytes),
                     c.cost.peak_threads, c.cost.peak_threads == 1 ? "" : "s",
                     c.cost.peak_processes > 1 ? fmt::format(" in {} processes", c.cost.peak_processes) : "");
}

int footprint_count(const candidate& c) { return c.cost.peak_threads + c.cost.peak_processes - 1; }

/// Whether `a` has a far smaller footprint than `b` by the rule's ratios.
bool far_lighter(const candidate& a, const candidate& b, const recommend_options& options) {
  const auto a_bytes = static_cast<double>(a.cost.peak_bytes);
  const auto b_bytes = static_cast<double>(b.cost.peak_bytes);
  if (a_bytes <= b_bytes * options.memory_ratio) return true;
  if (b_bytes <= a_bytes * options.memory_ratio) return false;
  return static_cast<double>(footprint_count(a)) <= static_cast<double>(footprint_count(b)) * options.thread_ratio;
}

}  // namespace

std::string format_bytes(std::uint64_t bytes) {
  const auto value = static_cast<double>(bytes);
  if (value >= 1e9) return fmt::format("{:.1f} GB", value / 1e9);
  if (value >= 1e6) return fmt::format("{:.1f} MB", value / 1e6);
  if (value >= 1e3) return fmt::format("{:.1f} kB", value / 1e3);
  return fmt::format("{} B", bytes);
}

std::optional<recommendation> recommend(std::span<const candidate> candidates, std::size_t items,
                                        const recommend_options& options) {
  std::optional<std::size_t> fastest;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (!candidates[i].correct) continue;
    if (!fastest || candidates[i].cost.wall_seconds < candidates[*fastest].cost.wall_seconds) fastest = i;
  }
  if (!fastest) return std::nullopt;
  const double limit = candidates[*fastest].cost.wall_seconds * (1.0 + options.time_tolerance);
  std::size_t chosen = *fastest;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (i == chosen || !candidates[i].correct || candidates[i].cost.wall_seconds > limit) continue;
    if (far_lighter(candidates[i], candidates[chosen], options)) chosen = i;
  }
  const candidate& pick = candidates[chosen];
  recommendation out;
  out.model = pick.model;
  out.index = chosen;
  const std::string what = items > 0 ? fmt::format("{} items in ", items) : std::string();
  out.reason = fmt::format("{}: {}{}", pick.model, what, figures(pick));
  if (chosen != *fastest) {
    const candidate& quickest = candidates[*fastest];
    out.reason += fmt::format("; {} was within {:.0f}% of the time ({}) but heavier", quickest.model,
                              options.time_tolerance * 100, figures(quickest));
  } else {
    // The runner-up, for contrast.
    std::optional<std::size_t> second;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      if (i == chosen || !candidates[i].correct) continue;
      if (!second || candidates[i].cost.wall_seconds < candidates[*second].cost.wall_seconds) second = i;
    }
    if (second) out.reason += fmt::format("; the next, {}, took {}", candidates[*second].model, figures(candidates[*second]));
  }
  return out;
}

}  // namespace trident::advisor
