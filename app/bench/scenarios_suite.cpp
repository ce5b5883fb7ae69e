// The `scenarios` suite of `trident bench`: the lesson's four "choosing the right approach"
// scenarios under Trident's models and under the lesson's Python tools
// (app/bench/compare/scenarios/lesson_scenarios.py: requests, aiohttp, multiprocessing,
// concurrent.futures, psycopg2, Pillow), in one run.
//
// Method
//   1. Every scenario is set up once (the loopback server, the cached images, the private
//      PostgreSQL server) at the size --size names (full by default); Trident and Python use the
//      same inputs (`scenario::inputs.json`, written to a file for the script).
//   2. The shared runner (runner.hpp): per scenario, each implementation — one per model and
//      language, `trident_<model>` and `python_<model>` — runs `repeat` rounds, each round running
//      every implementation once in turn; medians of the rounds. Neither side has an untimed
//      warm-up run (the set-up warmed the inputs; a whole extra run would double the time).
//   3. The value is the model's wall time for the whole job in seconds. The notes give, per
//      model that both languages have, Python's time over Trident's, and the same for each
//      scenario's best model on either side. The images ratio compares whole stacks (Pillow
//      against libvips), which is what each user would run.

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <span>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_suites.hpp"
#include "compare_scripts.hpp"
#include "interruption.hpp"
#include "report.hpp"
#include "runner.hpp"
#include "scenario.hpp"
#include "trident/core/atomic_file.hpp"
#include "trident/exec/thread_pool.hpp"

namespace trident::bench {
namespace {

/// The models the Python script implements per scenario (N: the core count), named as Trident's.
std::vector<std::string> python_models(const std::string& scenario, std::size_t cores) {
  const std::string n = std::to_string(cores);
  if (scenario == "web") return {"sequential", "threads_10", "threads_200", "processes_" + n, "async_50", "async_200"};
  if (scenario == "images") return {"sequential", "threads_" + n, "processes_" + n, "async_to_thread"};
  if (scenario == "db") return {"sequential", "threads_10", "processes_" + n, "async_to_thread"};
  if (scenario == "mixed")
    return {"sequential", "fetch_then_analyse", "hybrid_pipelined", "threads_" + std::to_string(4 * cores)};
  return {};
}

struct prepared {
  std::string name;
  std::optional<scenarios::scenario> s;
  std::string inputs_path;
  std::optional<on_interruption> remove_inputs;  ///< An interrupted run removes the file too.
};

}  // namespace

int run_scenarios_suite(const bench_options& options) {
  suite_runner runner("scenarios", options, std::chrono::milliseconds(200));
  // The cases are the scenarios: check --case names before any set-up (the runner checks again).
  for (const std::string& requested : options.cases) {
    const auto& names = scenarios::scenario_names();
    if (std::find(names.begin(), names.end(), requested) == names.end()) {
      throw std::invalid_argument(
          fmt::format("unknown case '{}' for suite 'scenarios' (valid: {})", requested, fmt::join(names, ", ")));
    }
  }
  scenarios::scenario_options setup;
  setup.size = scenarios::scale::full;
  setup.cache_dir = scenarios::default_cache_dir();
  setup.say = [](const std::string& line) { std::cerr << "  " << line << '\n'; };
  const std::size_t cores = exec::thread_pool_options::default_worker_count();
  setup.cores = cores;

  // Set-up first (implementations are per model, and the models are known once a scenario is made).
  std::vector<std::unique_ptr<prepared>> all;
  for (const std::string& name : scenarios::scenario_names()) {
    if (!runner.wanted(name)) continue;
    auto p = std::make_unique<prepared>();
    p->name = name;
    std::cerr << "scenarios: setting up " << name << "…\n";
    try {
      p->s.emplace(scenarios::find_factory(name)(setup));
    } catch (const scenarios::scenario_skipped& e) {
      runner.note(fmt::format("{}: skipped: {}", name, e.what()));
      continue;
    }
    p->inputs_path = fmt::format("/tmp/trident-bench-scenarios-{}-{}.json", ::getpid(), name);
    atomic_file inputs(p->inputs_path, {.if_exists = atomic_file::existing::replace});
    inputs.write(std::span<const char>(p->s->inputs.json.data(), p->s->inputs.json.size()));
    inputs.commit();
    p->remove_inputs.emplace([path = p->inputs_path] { std::remove(path.c_str()); });
    all.push_back(std::move(p));
  }

  for (const auto& p : all) {
    bench_case bc{{{p->name, "s", false}}, "", {}, {}, {}};
    for (const scenarios::model& m : p->s->models) {
      auto run = m.run;
      // No untimed warm-up run: the set-up already warmed what a model reuses (cached images,
      // the server's pages), and a whole extra run of every model would double the suite's time.
      bc.impls.push_back(std::make_shared<in_process_impl>(
          "trident_" + m.name,
          [run] {
            stopwatch clock;
            (void)run();
            return std::vector<double>{clock.seconds()};
          },
          [] {}));
    }
    for (const std::string& model : python_models(p->name, cores)) {
      bc.impls.push_back(external_impl::python_script(
          "python_" + model, "scenarios/lesson_scenarios.py",
          fmt::format("--inputs {} --scenario {} --model {}", shell_quote(p->inputs_path), p->name, model)));
    }
    runner.add(std::move(bc));
  }
  runner.note(
      fmt::format("median of {} round(s); every model of both languages interleaved; values are wall seconds "
                  "for the whole job; images compares whole stacks (Pillow against libvips)",
                  options.repeat));
  suite_results out = runner.run();

  for (const auto& p : all) {
    const result* best_trident = nullptr;
    const result* best_python = nullptr;
    for (const result& r : out.rows) {
      if (r.case_name != p->name) continue;
      const bool trident = r.impl.rfind("trident_", 0) == 0;
      const result*& best = trident ? best_trident : best_python;
      if (best == nullptr || r.value < best->value) best = &r;
      if (trident) {
        const std::string model = r.impl.substr(8);
        if (const result* theirs = find_result(out.rows, p->name, "python_" + model);
            theirs != nullptr && r.value > 0) {
          out.notes.push_back(
              fmt::format("{} {}: python takes {:.2f}x trident's time", p->name, model, theirs->value / r.value));
        }
      }
    }
    if (best_trident != nullptr && best_python != nullptr && best_trident->value > 0) {
      out.notes.push_back(fmt::format("{} best: {} {:.2f} s, {} {:.2f} s: {:.2f}x", p->name, best_trident->impl,
                                      best_trident->value, best_python->impl, best_python->value,
                                      best_python->value / best_trident->value));
    }
    std::remove(p->inputs_path.c_str());
  }
  return report_suite_results(out, options);
}

}  // namespace trident::bench
