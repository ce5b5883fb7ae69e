// advisor::advise: the part that does not depend on the work's types.

#include "trident/advisor/advise.hpp"

#include <fmt/format.h>

namespace trident::advisor::advise_detail {

advice conclude(std::vector<measured_model> runs, std::size_t items, double process_start_seconds) {
  advice out;
  out.process_start_seconds = process_start_seconds;
  std::vector<candidate> candidates;
  candidates.reserve(runs.size());
  for (const measured_model& run : runs) candidates.push_back({run.model, run.cost, run.ok});
  if (!runs.empty() && runs.front().ok) {
    out.cpu_per_wall = runs.front().cost.cpu_per_wall();
    out.seconds_per_item = items > 0 ? runs.front().cost.wall_seconds / static_cast<double>(items) : 0;
  }
  if (const auto pick = recommend(candidates, items)) {
    const measured_model& chosen = runs[pick->index];
    out.family = chosen.family;
    out.model = chosen.model;
    out.workers = chosen.workers;
    out.reason = pick->reason;
    out.reason += fmt::format(" (each item: {:.3f} s, CPU/wall {:.2f}{})", out.seconds_per_item, out.cpu_per_wall,
                              process_start_seconds > 0
                                  ? fmt::format(", process pool start {:.0f} ms", process_start_seconds * 1000)
                                  : std::string());
  } else {
    out.reason = "no model completed the sample";
  }
  out.runs = std::move(runs);
  return out;
}

}  // namespace trident::advisor::advise_detail
