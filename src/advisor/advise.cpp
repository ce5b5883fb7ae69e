// advisor::advise: the part that does not depend on the work's types.

#include "trident/advisor/advise.hpp"

#include <fmt/format.h>

namespace trident::advisor::advise_detail {

std::string async_exclusion(double cpu_per_wall) {
  return fmt::format(
      "CPU-bound work (CPU/wall {:.2f}) gains nothing from an event loop: async_to_thread runs the same threads "
      "behind one",
      cpu_per_wall);
}

advice conclude(std::vector<measured_model> runs, std::size_t items, double process_start_seconds,
                std::vector<std::string> notes) {
  advice out;
  out.process_start_seconds = process_start_seconds;
  out.notes = std::move(notes);
  std::vector<candidate> candidates;
  candidates.reserve(runs.size());
  for (const measured_model& run : runs) {
    candidates.push_back({run.model, run.family, run.cost, run.runs > 1 ? run.wall_min : 0.0,
                          run.runs > 1 ? run.wall_max : 0.0, run.ok, run.excluded});
  }
  if (!runs.empty() && runs.front().ok) {
    out.cpu_per_wall = runs.front().cost.cpu_per_wall();
    out.seconds_per_item = items > 0 ? runs.front().cost.wall_seconds / static_cast<double>(items) : 0;
  }
  if (const auto pick = recommend(candidates, items)) {
    const measured_model& chosen = runs[pick->index];
    out.family = chosen.family;
    out.model = chosen.model;
    out.workers = chosen.workers;
    out.basis = pick->basis;
    for (const std::size_t i : pick->ties) out.ties.push_back(runs[i].model);
    out.reason = pick->reason;
    out.reason += fmt::format(" Each item: {:.3f} s, CPU/wall {:.2f}{}.", out.seconds_per_item, out.cpu_per_wall,
                              process_start_seconds > 0
                                  ? fmt::format("; starting a process pool: {:.0f} ms", process_start_seconds * 1000)
                                  : std::string());
  } else {
    out.reason = "no model completed the sample";
  }
  out.runs = std::move(runs);
  return out;
}

}  // namespace trident::advisor::advise_detail
