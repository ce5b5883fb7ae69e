// The lesson's "choosing the right approach" guide, measured: each scenario (200 URLs → async,
// 50 images → processes, 10 database queries → threads, fetch + analyse → async plus a process
// pool) at a small size under every model, with the recommendation computed from the figures.
// `trident scenarios` runs the full sizes.

#include <string>

#include "cell.hpp"
#include "scenario_runner.hpp"
#include "scenario.hpp"

namespace trident::lesson {

std::string choosing(output& out) {
  scenarios::scenario_options options;
  options.size = scenarios::scale::small;
  options.cache_dir = scenarios::default_cache_dir();
  std::string picks;
  std::string skipped;
  for (const std::string& name : scenarios::scenario_names()) {
    scenarios::scenario_report report;
    try {
      const scenarios::scenario s = scenarios::find_factory(name)(options);
      report = scenarios::run_scenario(s);
    } catch (const scenarios::scenario_skipped& e) {
      out.line("{}: skipped — {}", name, e.what());
      skipped += (skipped.empty() ? "" : ", ") + name;
      continue;
    }
    std::string table = scenarios::format_report(report);
    if (!table.empty() && table.back() == '\n') table.pop_back();
    out.line("{}", table);
    for (const auto& run : report.runs) {
      check(run.ok, name + ": " + run.model + " failed: " + run.error);
      check(run.same_results, name + ": " + run.model + " produced different results");
    }
    check(report.pick.has_value(), name + ": no recommendation");
    picks += (picks.empty() ? "" : ", ") + name + " → " + report.pick->model;
  }
  check(!picks.empty(), "no scenario could run here");
  return picks + (skipped.empty() ? "" : " (skipped: " + skipped + ")");
}

}  // namespace trident::lesson
