// Runs a scenario's models in rounds, each run measured in a process of its own, checks their
// results agree and names the best one by the advisor's rule.

#include "scenario_runner.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "model_process.hpp"
#include "trident/trace/recorder.hpp"

namespace trident::scenarios {
namespace {

/// One model's runs so far.
struct model_runs {
  const model* m = nullptr;
  std::vector<measured_run> runs;
  std::string error;
};

measured_run run_here(const model& m) {
  measured_run run;
  run.cost = advisor::measure([&] { run.result = m.run(); });
  return run;
}

/// The median run, the range and the agreement of the repeats, as the table shows them.
model_run summarise(model_runs& r) {
  model_run run;
  run.model = r.m->name;
  run.family = r.m->family;
  run.concurrency = r.m->concurrency;
  run.description = r.m->description;
  run.runs = r.runs.size();
  if (!r.error.empty() || r.runs.empty()) {
    run.error = r.error.empty() ? "did not run" : r.error;
    return run;
  }
  std::sort(r.runs.begin(), r.runs.end(),
            [](const measured_run& a, const measured_run& b) { return a.cost.wall_seconds < b.cost.wall_seconds; });
  const measured_run& median = r.runs[r.runs.size() / 2];
  run.ok = true;
  run.result = median.result;
  run.cost = median.cost;
  run.wall_min = r.runs.front().cost.wall_seconds;
  run.wall_max = r.runs.back().cost.wall_seconds;
  for (const measured_run& a : r.runs) {
    if (a.result.items != median.result.items || a.result.failed != median.result.failed ||
        a.result.digest != median.result.digest) {
      run.ok = false;
      run.error = "its repeated runs gave different results";
    }
  }
  return run;
}

const model_run* best_of_family(const scenario_report& report, const std::string& family) {
  const model_run* best = nullptr;
  for (const model_run& r : report.runs) {
    if (r.family != family || !r.ok || !r.same_results) continue;
    if (best == nullptr || r.cost.wall_seconds < best->cost.wall_seconds) best = &r;
  }
  return best;
}

const char* basis_words(advisor::pick_basis basis) {
  switch (basis) {
    case advisor::pick_basis::lighter:
      return "as far lighter";
    case advisor::pick_basis::simpler:
      return "as the simpler model";
    case advisor::pick_basis::fastest:
      break;
  }
  return "as the fastest";
}

void add_remarks(scenario_report& report) {
  if (!report.pick) return;
  const model_run& chosen = report.runs[report.pick->index];
  if (!report.lesson_choice.empty()) {
    if (chosen.family == report.lesson_choice) {
      report.remarks.push_back(fmt::format("Agrees with the lesson's guide ({}).", report.lesson_choice));
    } else if (const model_run* lesson = best_of_family(report, report.lesson_choice)) {
      if (lesson->tie) {
        const bool fastest = lesson == &report.runs[report.pick->fastest];
        report.remarks.push_back(fmt::format(
            "The lesson's guide says {}; its best here, {} ({:.2f} s), {}, and the rule chose {} ({:.2f} s) {}.",
            report.lesson_choice, lesson->model, lesson->cost.wall_seconds,
            fastest ? "is the fastest" : "ties with the fastest", chosen.model, chosen.cost.wall_seconds,
            basis_words(report.pick->basis)));
      } else {
        report.remarks.push_back(fmt::format(
            "The lesson's guide says {}; its best here, {}, took {:.2f} s, {} {} ({:.2f} s), which the rule chose {}.",
            report.lesson_choice, lesson->model, lesson->cost.wall_seconds,
            lesson->cost.wall_seconds < chosen.cost.wall_seconds ? "faster than" : "slower than", chosen.model,
            chosen.cost.wall_seconds, basis_words(report.pick->basis)));
      }
    }
  }
  if (report.size == scale::small) {
    const model_run* sequential = best_of_family(report, "sequential");
    report.remarks.push_back(fmt::format(
        "At --size small the whole job is short{}, so starting threads, processes and event loops weighs more than "
        "at the lesson's sizes{}; --size full runs the lesson's sizes.",
        sequential != nullptr ? fmt::format(" (sequential: {:.2f} s)", sequential->cost.wall_seconds) : "",
        !report.lesson_choice.empty() && chosen.family != report.lesson_choice
            ? ", which is where this result and the lesson's guide can part"
            : ""));
  }
  // Python needs processes for CPU-bound work because of the GIL; C++ threads use every core.
  const model_run* threads = best_of_family(report, "threads");
  const model_run* processes = best_of_family(report, "processes");
  if (threads != nullptr && processes != nullptr && processes->cost.cpu_per_wall() > 1.2 &&
      threads->cost.wall_seconds <= processes->cost.wall_seconds * 1.10) {
    report.remarks.push_back(fmt::format(
        "C++ threads have no GIL: {} used {:.1f} cores and took {:.2f} s against {:.2f} s for {} — processes "
        "are needed here only for isolation.",
        threads->model, threads->cost.cpu_per_wall(), threads->cost.wall_seconds, processes->cost.wall_seconds,
        processes->model));
  }
}

std::string range_text(const model_run& r) {
  return r.runs > 1 ? fmt::format("{:.2f}–{:.2f}", r.wall_min, r.wall_max) : std::string("-");
}

}  // namespace

scenario_report run_scenario(const scenario& s, const run_options& options) {
  scenario_report report;
  report.name = s.name;
  report.title = s.title;
  report.lesson_choice = s.lesson_choice;
  report.size = s.inputs.size;
  const std::size_t repeat =
      options.repeat > 0 ? options.repeat : (s.inputs.size == scale::small ? std::size_t{3} : std::size_t{1});
  const bool fresh = options.fresh_process && !s.inputs.json.empty() && find_factory(s.name) != nullptr;

  std::vector<model_runs> all(s.models.size());
  for (std::size_t i = 0; i < s.models.size(); ++i) all[i].m = &s.models[i];
  for (std::size_t round = 0; round < repeat && !report.interrupted; ++round) {
    for (model_runs& r : all) {
      if (options.stop_requested && options.stop_requested()) {
        report.interrupted = true;
        break;
      }
      if (!r.error.empty()) continue;
      if (options.say) {
        options.say(repeat > 1 ? fmt::format("{}: {} (round {} of {})", s.name, r.m->name, round + 1, repeat)
                               : fmt::format("{}: {}", s.name, r.m->name));
      }
      const trace::span span("model", "scenario", fmt::format("{}: {}", s.name, r.m->name));
      try {
        r.runs.push_back(fresh ? run_model_in_fresh_process(s.name, r.m->name, s.inputs) : run_here(*r.m));
      } catch (const std::exception& e) {
        r.error = e.what();
      }
    }
  }
  for (model_runs& r : all) {
    if (r.runs.empty() && r.error.empty()) {
      report.not_run.push_back(r.m->name);
      continue;
    }
    report.runs.push_back(summarise(r));
  }

  // The reference result is the first model that ran (sequential, when there is one).
  const model_run* reference = nullptr;
  for (const model_run& r : report.runs) {
    if (r.ok) {
      reference = &r;
      break;
    }
  }
  double sequential_wall = 0;
  for (const model_run& r : report.runs) {
    if (r.ok && r.family == "sequential") sequential_wall = r.cost.wall_seconds;
  }
  std::vector<advisor::candidate> candidates;
  for (model_run& r : report.runs) {
    r.same_results = r.ok && reference != nullptr && r.result.items == reference->result.items &&
                     r.result.failed == reference->result.failed && r.result.digest == reference->result.digest;
    r.speedup = sequential_wall > 0 && r.ok && r.cost.wall_seconds > 0 ? sequential_wall / r.cost.wall_seconds : 0;
    candidates.push_back({r.model,
                          r.family,
                          r.cost,
                          r.runs > 1 ? r.wall_min : 0.0,
                          r.runs > 1 ? r.wall_max : 0.0,
                          r.ok && r.same_results,
                          {}});
  }
  if (report.interrupted) return report;  // a partial table recommends nothing
  const std::size_t items = reference != nullptr ? reference->result.items : 0;
  report.pick = advisor::recommend(candidates, items);
  if (report.pick) {
    report.runs[report.pick->index].recommended = true;
    for (const std::size_t i : report.pick->ties) report.runs[i].tie = true;
  }
  add_remarks(report);
  return report;
}

std::string format_report(const scenario_report& report) {
  std::string out = fmt::format("{} — {}{}\n", report.name, report.title,
                                report.interrupted ? " — INTERRUPTED: partial results" : "");
  out += fmt::format("  {:<18} {:>8} {:>11} {:>8} {:>10} {:>8} {:>6} {:>8}  {}\n", "model", "wall s", "range", "cpu s",
                     "peak mem", "threads", "procs", "speed-up", "results");
  for (const model_run& r : report.runs) {
    if (!r.ok) {
      out += fmt::format("  {:<18} failed: {}\n", r.model, r.error);
      continue;
    }
    std::string results = fmt::format("{} {}/{} ok", r.same_results ? "same" : "DIFFERENT",
                                      r.result.items - r.result.failed, r.result.items);
    if (r.result.failed > 0) results += fmt::format(" ({} meant to fail)", r.result.failed);
    if (!r.result.detail.empty()) results += " " + r.result.detail;
    const char* mark = r.recommended ? "  <- recommended" : r.tie ? "  ~ tie" : "";
    out += fmt::format("  {:<18} {:>8.2f} {:>11} {:>8.2f} {:>10} {:>8} {:>6} {:>7.2f}x  {}{}\n", r.model,
                       r.cost.wall_seconds, range_text(r), r.cost.cpu_seconds, advisor::format_bytes(r.cost.peak_bytes),
                       r.cost.peak_threads, r.cost.peak_processes, r.speedup, results, mark);
  }
  if (report.interrupted) {
    std::vector<std::string> ran;
    for (const model_run& r : report.runs)
      ran.push_back(fmt::format("{} ({} run{})", r.model, r.runs, r.runs == 1 ? "" : "s"));
    out += fmt::format(
        "  no recommendation: the run was interrupted; ran: {}{}\n",
        ran.empty() ? std::string("none") : fmt::format("{}", fmt::join(ran, ", ")),
        report.not_run.empty() ? std::string() : fmt::format("; not run: {}", fmt::join(report.not_run, ", ")));
  } else if (report.pick) {
    out += fmt::format("  recommended: {}\n", report.pick->reason);
  } else {
    out += "  no recommendation: no model produced the expected results\n";
  }
  for (const std::string& remark : report.remarks) out += fmt::format("  {}\n", remark);
  return out;
}

void print_report(std::FILE* out, const scenario_report& report) {
  const std::string text = "\n" + format_report(report);
  std::fputs(text.c_str(), out);
  std::fflush(out);
}

std::vector<std::string> json_lines(const scenario_report& report) {
  std::vector<std::string> lines;
  for (const model_run& r : report.runs) {
    nlohmann::ordered_json line{{"scenario", report.name},      {"model", r.model}, {"family", r.family},
                                {"concurrency", r.concurrency}, {"ok", r.ok},       {"runs", r.runs}};
    if (r.ok) {
      line["wall_s"] = r.cost.wall_seconds;
      line["wall_min_s"] = r.wall_min;
      line["wall_max_s"] = r.wall_max;
      line["cpu_s"] = r.cost.cpu_seconds;
      line["peak_bytes"] = r.cost.peak_bytes;
      line["threads"] = r.cost.peak_threads;
      line["processes"] = r.cost.peak_processes;
      line["speedup"] = r.speedup;
      line["items"] = r.result.items;
      line["failed"] = r.result.failed;
      line["same_results"] = r.same_results;
    } else {
      line["error"] = r.error;
    }
    line["recommended"] = r.recommended;
    line["tie"] = r.tie;
    lines.push_back(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  nlohmann::ordered_json summary{{"scenario", report.name}, {"summary", true}, {"partial", report.interrupted}};
  if (report.pick) {
    summary["recommended"] = report.pick->model;
    summary["basis"] = advisor::to_string(report.pick->basis);
    summary["reason"] = report.pick->reason;
    nlohmann::json tied = nlohmann::json::array();
    for (const std::size_t i : report.pick->ties) tied.push_back(report.runs[i].model);
    summary["ties"] = tied;
  } else {
    summary["recommended"] = nullptr;
    summary["reason"] = report.interrupted ? "the run was interrupted" : "no model produced the expected results";
  }
  summary["not_run"] = report.not_run;
  summary["remarks"] = report.remarks;
  lines.push_back(summary.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  return lines;
}

}  // namespace trident::scenarios
