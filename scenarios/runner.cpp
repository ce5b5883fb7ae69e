// Runs a scenario's models, measures them, checks their results agree and names the best one.

#include "runner.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <exception>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

namespace trident::scenarios {
namespace {

/// Escapes a string for a JSON string literal.
std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<int>(c));
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

model_run run_model(const model& m, const run_options& options) {
  model_run run;
  run.model = m.name;
  run.family = m.family;
  run.concurrency = m.concurrency;
  run.description = m.description;
  struct attempt {
    advisor::usage cost;
    model_result result;
  };
  std::vector<attempt> attempts;
  const std::size_t repeat = std::max<std::size_t>(1, options.repeat);
  for (std::size_t i = 0; i < repeat; ++i) {
    if (i > 0 && options.stop_requested && options.stop_requested()) break;
    attempt a;
    try {
      a.cost = advisor::measure([&] { a.result = m.run(); });
    } catch (const std::exception& e) {
      run.ok = false;
      run.error = e.what();
      return run;
    }
    attempts.push_back(std::move(a));
  }
  std::sort(attempts.begin(), attempts.end(),
            [](const attempt& a, const attempt& b) { return a.cost.wall_seconds < b.cost.wall_seconds; });
  const attempt& median = attempts[attempts.size() / 2];
  run.ok = true;
  run.result = median.result;
  run.cost = median.cost;
  run.wall_min = attempts.front().cost.wall_seconds;
  run.wall_max = attempts.back().cost.wall_seconds;
  // Every repeat must agree with the others too.
  for (const attempt& a : attempts) {
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

void add_remarks(scenario_report& report) {
  if (!report.pick) return;
  const model_run& chosen = report.runs[report.pick->index];
  if (!report.lesson_choice.empty()) {
    if (chosen.family == report.lesson_choice) {
      report.remarks.push_back(fmt::format("Agrees with the lesson's guide ({}).", report.lesson_choice));
    } else if (const model_run* lesson = best_of_family(report, report.lesson_choice)) {
      report.remarks.push_back(fmt::format("The lesson's guide says {}; here its best, {}, took {:.2f} s against {:.2f} s.",
                                           report.lesson_choice, lesson->model, lesson->cost.wall_seconds,
                                           chosen.cost.wall_seconds));
    }
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

}  // namespace

scenario_report run_scenario(const scenario& s, const run_options& options) {
  scenario_report report;
  report.name = s.name;
  report.title = s.title;
  report.lesson_choice = s.lesson_choice;
  for (const model& m : s.models) {
    if (options.stop_requested && options.stop_requested()) break;
    if (options.say) options.say(fmt::format("{}: {}", s.name, m.name));
    report.runs.push_back(run_model(m, options));
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
    candidates.push_back({r.model, r.cost, r.ok && r.same_results});
  }
  const std::size_t items = reference != nullptr ? reference->result.items : 0;
  report.pick = advisor::recommend(candidates, items);
  if (report.pick) report.runs[report.pick->index].recommended = true;
  add_remarks(report);
  return report;
}

std::string format_report(const scenario_report& report) {
  std::string out = fmt::format("{} — {}\n", report.name, report.title);
  out += fmt::format("  {:<18} {:>8} {:>8} {:>10} {:>8} {:>6} {:>8}  {}\n", "model", "wall s", "cpu s", "peak mem",
                     "threads", "procs", "speed-up", "results");
  for (const model_run& r : report.runs) {
    if (!r.ok) {
      out += fmt::format("  {:<18} failed: {}\n", r.model, r.error);
      continue;
    }
    const std::string results =
        fmt::format("{} {}/{}{}", r.same_results ? "same" : "DIFFERENT", r.result.items - r.result.failed,
                    r.result.items, r.result.detail.empty() ? "" : " " + r.result.detail);
    out += fmt::format("  {:<18} {:>8.2f} {:>8.2f} {:>10} {:>8} {:>6} {:>7.2f}x  {}{}\n", r.model, r.cost.wall_seconds,
                       r.cost.cpu_seconds, advisor::format_bytes(r.cost.peak_bytes), r.cost.peak_threads,
                       r.cost.peak_processes, r.speedup, results, r.recommended ? "  <- recommended" : "");
  }
  if (report.pick) {
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
    std::string line = fmt::format(
        "{{\"scenario\":{},\"model\":{},\"family\":{},\"concurrency\":{},\"ok\":{}", json_string(report.name),
        json_string(r.model), json_string(r.family), r.concurrency, r.ok ? "true" : "false");
    if (r.ok) {
      line += fmt::format(
          ",\"wall_s\":{:.6f},\"wall_min_s\":{:.6f},\"wall_max_s\":{:.6f},\"cpu_s\":{:.6f},\"peak_bytes\":{},"
          "\"threads\":{},\"processes\":{},\"speedup\":{:.4f},\"items\":{},\"failed\":{},\"same_results\":{}",
          r.cost.wall_seconds, r.wall_min, r.wall_max, r.cost.cpu_seconds, r.cost.peak_bytes, r.cost.peak_threads,
          r.cost.peak_processes, r.speedup, r.result.items, r.result.failed, r.same_results ? "true" : "false");
    } else {
      line += fmt::format(",\"error\":{}", json_string(r.error));
    }
    line += fmt::format(",\"recommended\":{}}}", r.recommended ? "true" : "false");
    lines.push_back(std::move(line));
  }
  return lines;
}

}  // namespace trident::scenarios
