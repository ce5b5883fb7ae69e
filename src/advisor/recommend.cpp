// advisor::recommend: the stated rule (recommend.hpp) applied to measured runs.

#include "trident/advisor/recommend.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>

namespace trident::advisor {
namespace {

double low(const candidate& c) {
  return c.wall_min > 0 ? std::min(c.wall_min, c.cost.wall_seconds) : c.cost.wall_seconds;
}
double high(const candidate& c) {
  return c.wall_max > 0 ? std::max(c.wall_max, c.cost.wall_seconds) : c.cost.wall_seconds;
}
bool has_range(const candidate& c) { return c.wall_min > 0 && c.wall_max > c.wall_min; }

/// "1.02 s" or, with repeats, "1.02 s (0.98–1.10)".
std::string seconds(const candidate& c) {
  if (!has_range(c)) return fmt::format("{:.2f} s", c.cost.wall_seconds);
  return fmt::format("{:.2f} s ({:.2f}–{:.2f})", c.cost.wall_seconds, low(c), high(c));
}

std::string figures(const candidate& c) {
  return fmt::format("{} with {} and {} thread{}{}", seconds(c), format_bytes(c.cost.peak_bytes), c.cost.peak_threads,
                     c.cost.peak_threads == 1 ? "" : "s",
                     c.cost.peak_processes > 1 ? fmt::format(" in {} processes", c.cost.peak_processes) : "");
}

int footprint_count(const candidate& c) { return c.cost.peak_threads + c.cost.peak_processes - 1; }

bool memory_far_less(const candidate& a, const candidate& b, const recommend_options& options) {
  return static_cast<double>(a.cost.peak_bytes) <= static_cast<double>(b.cost.peak_bytes) * options.memory_ratio;
}

/// Whether `a` has a far smaller footprint than `b` by the rule's ratios.
bool far_lighter(const candidate& a, const candidate& b, const recommend_options& options) {
  if (memory_far_less(a, b, options)) return true;
  if (memory_far_less(b, a, options)) return false;
  return static_cast<double>(footprint_count(a)) <= static_cast<double>(footprint_count(b)) * options.thread_ratio;
}

/// The simplicity order of the families: fewer moving parts first.
constexpr std::array<std::string_view, 5> simplicity_order{"sequential", "threads", "async", "processes", "hybrid"};

std::size_t simplicity(const candidate& c) {
  const auto it = std::find(simplicity_order.begin(), simplicity_order.end(), c.family);
  return static_cast<std::size_t>(it - simplicity_order.begin());
}

bool eligible(const candidate& c) { return c.correct && c.excluded.empty(); }

/// Why `a` and `b` tie, in words: "within 10%" or "their ranges overlap".
std::string tie_words(const candidate& a, const candidate& b, const recommend_options& options) {
  const double fast = std::min(a.cost.wall_seconds, b.cost.wall_seconds);
  const double slow = std::max(a.cost.wall_seconds, b.cost.wall_seconds);
  if (slow <= fast * (1.0 + options.time_tolerance)) {
    return fmt::format("within {:.0f}% of each other", options.time_tolerance * 100);
  }
  return "their ranges over the repeated runs overlap";
}

/// "14.2 MB against 210.0 MB" or "3 threads and processes against 202".
std::string lighter_words(const candidate& a, const candidate& b, const recommend_options& options) {
  if (memory_far_less(a, b, options)) {
    return fmt::format("{} against {}", format_bytes(a.cost.peak_bytes), format_bytes(b.cost.peak_bytes));
  }
  return fmt::format("{} threads and processes against {} (memory alike: {} and {})", footprint_count(a),
                     footprint_count(b), format_bytes(a.cost.peak_bytes), format_bytes(b.cost.peak_bytes));
}

}  // namespace

const char* to_string(pick_basis basis) noexcept {
  switch (basis) {
    case pick_basis::fastest:
      return "fastest";
    case pick_basis::lighter:
      return "lighter";
    case pick_basis::simpler:
      return "simpler";
  }
  return "fastest";
}

std::string format_bytes(std::uint64_t bytes) {
  const auto value = static_cast<double>(bytes);
  if (value >= 1e9) return fmt::format("{:.1f} GB", value / 1e9);
  if (value >= 1e6) return fmt::format("{:.1f} MB", value / 1e6);
  if (value >= 1e3) return fmt::format("{:.1f} kB", value / 1e3);
  return fmt::format("{} B", bytes);
}

bool ties(const candidate& a, const candidate& b, const recommend_options& options) {
  const double fast = std::min(a.cost.wall_seconds, b.cost.wall_seconds);
  const double slow = std::max(a.cost.wall_seconds, b.cost.wall_seconds);
  if (slow <= fast * (1.0 + options.time_tolerance)) return true;
  return low(a) <= high(b) && low(b) <= high(a);
}

std::optional<recommendation> recommend(std::span<const candidate> candidates, std::size_t items,
                                        const recommend_options& options) {
  std::optional<std::size_t> fastest;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (!eligible(candidates[i])) continue;
    if (!fastest || candidates[i].cost.wall_seconds < candidates[*fastest].cost.wall_seconds) fastest = i;
  }
  if (!fastest) return std::nullopt;
  const candidate& quickest = candidates[*fastest];

  // The fastest and its ties, fastest first.
  std::vector<std::size_t> group{*fastest};
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (i != *fastest && eligible(candidates[i]) && ties(candidates[i], quickest, options)) group.push_back(i);
  }
  std::stable_sort(group.begin() + 1, group.end(), [&](std::size_t a, std::size_t b) {
    return candidates[a].cost.wall_seconds < candidates[b].cost.wall_seconds;
  });
  std::size_t chosen = *fastest;
  for (const std::size_t i : group) {
    if (i == chosen) continue;
    const candidate& c = candidates[i];
    const candidate& current = candidates[chosen];
    if (far_lighter(c, current, options) ||
        (!far_lighter(current, c, options) && simplicity(c) < simplicity(current))) {
      chosen = i;
    }
  }

  const candidate& pick = candidates[chosen];
  recommendation out;
  out.model = pick.model;
  out.index = chosen;
  out.fastest = *fastest;
  for (const std::size_t i : group) {
    if (i != chosen) out.ties.push_back(i);
  }
  const std::string what = items > 0 ? fmt::format("{} items in ", items) : std::string();
  out.reason = fmt::format("{}: {}{}.", pick.model, what, figures(pick));
  if (chosen == *fastest) {
    out.basis = pick_basis::fastest;
    if (out.ties.empty()) {
      std::optional<std::size_t> second;
      for (std::size_t i = 0; i < candidates.size(); ++i) {
        if (i == chosen || !eligible(candidates[i])) continue;
        if (!second || candidates[i].cost.wall_seconds < candidates[*second].cost.wall_seconds) second = i;
      }
      if (second) {
        out.reason +=
            fmt::format(" The fastest by more than {:.0f}%: the next, {}, took {}.", options.time_tolerance * 100,
                        candidates[*second].model, figures(candidates[*second]));
      } else {
        out.reason += " The only model that produced the expected results.";
      }
    } else {
      std::vector<std::string> tied;
      for (const std::size_t i : out.ties)
        tied.push_back(fmt::format("{} ({})", candidates[i].model, seconds(candidates[i])));
      out.reason += fmt::format(" The fastest, in a tie with {}: {} far lighter nor simpler.", fmt::join(tied, ", "),
                                out.ties.size() == 1 ? "it is neither" : "none of them is either");
    }
    return out;
  }
  const std::string tie = fmt::format(" It ties with the fastest, {} ({}): {}.", quickest.model, figures(quickest),
                                      tie_words(pick, quickest, options));
  out.reason += tie;
  if (far_lighter(pick, quickest, options)) {
    out.basis = pick_basis::lighter;
    out.reason += fmt::format(" Chosen as far lighter: {}.", lighter_words(pick, quickest, options));
  } else if (simplicity(pick) < simplicity(quickest)) {
    out.basis = pick_basis::simpler;
    out.reason += fmt::format(" Neither is far lighter, so the simpler model is chosen ({} before {}).",
                              pick.family.empty() ? pick.model : pick.family,
                              quickest.family.empty() ? quickest.model : quickest.family);
  } else {
    // Reached through another tie: lighter than the fastest, then simpler than that one.
    out.basis = pick_basis::simpler;
    out.reason += " Chosen by the rule's lightness and simplicity steps over the ties between them.";
  }
  return out;
}

}  // namespace trident::advisor
