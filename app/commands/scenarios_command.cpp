// `trident scenarios` / `trident advise`: flags in, scenarios run, tables or JSON lines out.
//
// Stopping: the first Ctrl-C lets the model in progress finish, prints what was measured and
// exits 130; a second Ctrl-C, SIGTERM or SIGHUP exits at once. Either way nothing is left
// behind: the scenario services (loopback server, PostgreSQL) end and clean up when this process
// ends, and process-pool workers die with their parent.

#include "scenarios_command.hpp"

#include <fmt/format.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "trident/core/stop_signals.hpp"

#include "exit_codes.hpp"
#include "model_process.hpp"
#include "scenario_runner.hpp"
#include "scenario.hpp"

namespace trident::cli {
namespace {

std::vector<std::string> selected(const scenarios_flags& flags) {
  std::vector<std::string> names;
  for (const std::string& name : flags.names) {
    if (name == "all") {
      names = scenarios::scenario_names();
      return names;
    }
    if (scenarios::find_factory(name) == nullptr) {
      throw usage_error(
          fmt::format("unknown scenario '{}' (choose from: {})", name, fmt::join(scenario_choices(), ", ")));
    }
    names.push_back(name);
  }
  if (names.empty()) names = scenarios::scenario_names();
  return names;
}

/// What the command is doing, for the first Ctrl-C's message.
enum class phase { idle, setting_up, running_models };

/// The command's stop policy on trident::stop_signals (SIGINT, SIGTERM, SIGHUP): a first Ctrl-C
/// asks for a stop and says what will still finish; SIGTERM, SIGHUP or any second signal ends
/// the process at once. The messages and the exit go through stdio, so they are made on the
/// signal thread (stop callback, second-signal action), never in a signal handler.
class scenario_stop {
 public:
  scenario_stop() : signals_(options_for(this)), on_first_(signals_.token(), first_signal{this}) {}
  scenario_stop(const scenario_stop&) = delete;
  scenario_stop& operator=(const scenario_stop&) = delete;

  [[nodiscard]] int received() const noexcept { return signals_.received(); }
  void enter(phase p) noexcept { phase_.store(p); }

 private:
  struct first_signal {
    scenario_stop* self;
    void operator()() const noexcept {
      if (self->received() != SIGINT) self->end_now(self->received());
      const bool setting_up = self->phase_.load() == phase::setting_up;
      std::fprintf(stderr, "\ntrident: %s (Ctrl-C again to stop now)\n",
                   setting_up ? "stopping: the set-up in progress ends, then no model runs"
                              : "stopping after the model in progress");
    }
  };

  static stop_signals::options options_for(scenario_stop* self) {
    stop_signals::options options;
    options.on_second_signal = [self](int signal_number) { self->end_now(signal_number); };
    return options;
  }

  /// At once: the services and workers clean up after themselves when this process ends.
  [[noreturn]] void end_now(int signal_number) const noexcept {
    std::fprintf(stderr, "\ntrident: stopped by %s\n", stop_signals::name(signal_number).c_str());
    std::fflush(stdout);
    std::fflush(stderr);
    std::_Exit(exit_code::for_signal(received()));
  }

  std::atomic<phase> phase_{phase::idle};  // before signals_: a stop callback may read it at once
  stop_signals signals_;
  std::stop_callback<first_signal> on_first_;
};

/// Makes scenario `name` (its set-up), saying why not on stderr. nullopt when it was skipped,
/// failed (then `rc` is set) or interrupted.
std::optional<scenarios::scenario> set_up(const std::string& name, const scenarios::scenario_options& options,
                                          scenario_stop& stop, int& rc, std::vector<std::string>& skipped) {
  stop.enter(phase::setting_up);
  std::optional<scenarios::scenario> s;
  try {
    s.emplace(scenarios::find_factory(name)(options));
  } catch (const scenarios::scenario_skipped& e) {
    std::fprintf(stderr, "%s: skipped: %s\n", name.c_str(), e.what());
    skipped.push_back(name);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: set-up failed: %s\n", name.c_str(), e.what());
    rc = exit_code::some_failed;
  }
  stop.enter(phase::idle);
  if (s && stop.received() != 0) {
    std::fprintf(stderr, "%s: set-up interrupted: no model ran\n", name.c_str());
    s.reset();
  }
  return s;
}

/// "not run (interrupted): images, db" for the scenarios after `done` in `names`.
void say_not_run(const std::vector<std::string>& names, std::size_t done) {
  if (done >= names.size()) return;
  std::vector<std::string> rest(names.begin() + static_cast<std::ptrdiff_t>(done), names.end());
  std::fprintf(stderr, "not run (interrupted): %s\n", fmt::format("{}", fmt::join(rest, ", ")).c_str());
}

scenarios::scenario_options options_from(const scenarios_flags& flags, bool quiet) {
  scenarios::scenario_options options;
  options.size = flags.size == "small" ? scenarios::scale::small : scenarios::scale::full;
  options.seed = flags.seed;
  options.cache_dir = scenarios::default_cache_dir();
  if (!quiet) {
    options.say = [](const std::string& line) { std::fprintf(stderr, "  %s\n", line.c_str()); };
  }
  return options;
}

}  // namespace

std::vector<std::string> scenario_choices() {
  std::vector<std::string> names = scenarios::scenario_names();
  names.push_back("all");
  return names;
}

int run_scenarios(const scenarios_flags& flags) {
  const std::vector<std::string> names = selected(flags);
  scenario_stop stop;
  const scenarios::scenario_options options = options_from(flags, false);
  int rc = exit_code::ok;
  std::vector<std::string> skipped;
  std::size_t done = 0;
  for (; done < names.size() && stop.received() == 0; ++done) {
    const std::string& name = names[done];
    std::fprintf(stderr, "%s: setting up…\n", name.c_str());
    std::optional<scenarios::scenario> s = set_up(name, options, stop, rc, skipped);
    if (!s) continue;
    scenarios::run_options run;
    run.repeat = static_cast<std::size_t>(flags.repeat);
    run.say = [](const std::string& line) { std::fprintf(stderr, "  running %s\n", line.c_str()); };
    run.stop_requested = [&stop] { return stop.received() != 0; };
    stop.enter(phase::running_models);
    const scenarios::scenario_report report = scenarios::run_scenario(*s, run);
    stop.enter(phase::idle);
    if (flags.json) {
      for (const std::string& line : scenarios::json_lines(report)) std::printf("%s\n", line.c_str());
      std::fflush(stdout);
    } else {
      scenarios::print_report(stdout, report);
    }
    for (const auto& r : report.runs) {
      if (!r.ok || !r.same_results) rc = exit_code::some_failed;
    }
  }
  if (!skipped.empty() && !flags.json) {
    std::printf("\nskipped: %s (see above for what to install)\n", fmt::format("{}", fmt::join(skipped, ", ")).c_str());
  }
  std::fflush(stdout);
  if (stop.received() != 0) {
    say_not_run(names, done);
    return exit_code::for_signal(stop.received());
  }
  return rc;
}

namespace {

std::string advice_json(const std::string& name, const advisor::advice& a) {
  nlohmann::ordered_json runs = nlohmann::json::array();
  for (const auto& run : a.runs) {
    nlohmann::ordered_json r{
        {"model", run.model}, {"family", run.family}, {"workers", run.workers}, {"ok", run.ok}, {"runs", run.runs}};
    if (run.ok) {
      r["wall_s"] = run.cost.wall_seconds;
      r["wall_min_s"] = run.wall_min;
      r["wall_max_s"] = run.wall_max;
      r["cpu_s"] = run.cost.cpu_seconds;
      r["peak_bytes"] = run.cost.peak_bytes;
      r["threads"] = run.cost.peak_threads;
      r["processes"] = run.cost.peak_processes;
    } else {
      r["error"] = run.error;
    }
    if (!run.excluded.empty()) r["excluded"] = run.excluded;
    runs.push_back(std::move(r));
  }
  nlohmann::ordered_json line{{"scenario", name},
                              {"recommended", a.model},
                              {"family", a.family},
                              {"workers", a.workers},
                              {"basis", advisor::to_string(a.basis)},
                              {"reason", a.reason},
                              {"ties", a.ties},
                              {"notes", a.notes},
                              {"cpu_per_wall", a.cpu_per_wall},
                              {"seconds_per_item", a.seconds_per_item},
                              {"runs", std::move(runs)}};
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void print_advice(const scenarios::scenario& s, const advisor::advice& a) {
  std::printf("\n%s — %s\n", s.name.c_str(), s.title.c_str());
  for (const auto& run : a.runs) {
    if (!run.ok) {
      std::printf("  %-22s failed: %s\n", run.model.c_str(), run.error.c_str());
      continue;
    }
    const bool tie = std::find(a.ties.begin(), a.ties.end(), run.model) != a.ties.end();
    const std::string range = run.runs > 1 ? fmt::format("{:.3f}–{:.3f}", run.wall_min, run.wall_max) : "-";
    const std::string mark = run.model == a.model    ? "  <- advised"
                             : !run.excluded.empty() ? "  (never advised: " + run.excluded + ")"
                             : tie                   ? "  ~ tie"
                                                     : "";
    std::printf("  %-22s %8.3f s %13s  cpu %7.3f s  %10s  %4d threads  %2d procs%s\n", run.model.c_str(),
                run.cost.wall_seconds, range.c_str(), run.cost.cpu_seconds,
                advisor::format_bytes(run.cost.peak_bytes).c_str(), run.cost.peak_threads, run.cost.peak_processes,
                mark.c_str());
  }
  for (const std::string& note : a.notes) std::printf("  %s\n", note.c_str());
  std::printf("  advice: %s with %zu worker%s. %s\n", a.family.c_str(), a.workers, a.workers == 1 ? "" : "s",
              a.reason.c_str());
}

}  // namespace

int run_advise(const scenarios_flags& flags) {
  const std::vector<std::string> names = selected(flags);
  scenario_stop stop;
  const scenarios::scenario_options options = options_from(flags, flags.json);
  int rc = exit_code::ok;
  std::vector<std::string> skipped;
  std::size_t done = 0;
  for (; done < names.size() && stop.received() == 0; ++done) {
    const std::string& name = names[done];
    std::optional<scenarios::scenario> s = set_up(name, options, stop, rc, skipped);
    if (!s) continue;
    if (!s->advise) {
      std::fprintf(stderr, "%s: its work does not split into items; run `trident scenarios %s`\n", name.c_str(),
                   name.c_str());
      continue;
    }
    advisor::advise_options advise_options;
    if (flags.repeat > 0) advise_options.repeat = static_cast<std::size_t>(flags.repeat);
    stop.enter(phase::running_models);
    advisor::advice a;
    try {
      // In a process of its own, like each model of `trident scenarios`: what earlier scenarios
      // left in this program (threads, kept heap) is not charged to this one's sample.
      a = scenarios::advise_in_fresh_process(name, s->inputs, advise_options);
    } catch (const std::exception& e) {
      stop.enter(phase::idle);
      std::fprintf(stderr, "%s: advise failed: %s\n", name.c_str(), e.what());
      rc = exit_code::some_failed;
      continue;
    }
    stop.enter(phase::idle);
    if (flags.json) {
      std::printf("%s\n", advice_json(name, a).c_str());
    } else {
      print_advice(*s, a);
    }
    std::fflush(stdout);
    for (const auto& run : a.runs) {
      if (!run.ok) rc = exit_code::some_failed;
    }
  }
  if (stop.received() != 0) {
    say_not_run(names, done);
    return exit_code::for_signal(stop.received());
  }
  return rc;
}

namespace {

/// "web|images|db|mixed|all", for the help of the scenario arguments.
std::string scenario_list() {
  std::string list;
  for (const auto& name : scenario_choices()) list += (list.empty() ? "" : "|") + name;
  return list;
}

}  // namespace

command add_scenarios_command(CLI::App& app) {
  auto flags = std::make_shared<scenarios_flags>();
  auto trace = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "scenarios",
      "Run the lesson's 'choosing the right approach' guide for real: each scenario under every model, "
      "measured, with a computed recommendation");
  cmd->add_option("scenario", flags->names, "Scenarios to run (" + scenario_list() + "; default all)")
      ->check(CLI::IsMember(scenario_choices()));
  cmd->add_option("--size", flags->size, "small: a few seconds in all; full: the lesson's sizes")
      ->check(CLI::IsMember({"small", "full"}));
  cmd->add_option("--repeat", flags->repeat,
                  "Runs per model, in rounds, each in a fresh process; the median and range are reported "
                  "and overlapping ranges tie (default: 3 at --size small, 1 at full)")
      ->check(whole_number())
      ->check(CLI::Range(1, 100));
  cmd->add_option("--seed", flags->seed, "Seed of every random choice (latencies, sizes, images)")
      ->check(whole_number());
  cmd->add_flag("--json", flags->json, "One JSON object per scenario and model instead of tables");
  cmd->add_option("--trace", *trace, "Write a timeline to FILE (.html: a page; else Chrome trace JSON)")
      ->check(trace_path());
  return {cmd, [flags, trace] { return with_trace(*trace, [&] { return run_scenarios(*flags); }); }};
}

command add_advise_command(CLI::App& app) {
  auto flags = std::make_shared<scenarios_flags>();
  auto* cmd = app.add_subcommand(
      "advise", "Recommend a model for each scenario's per-item work, from a measured sample (advisor::advise)");
  cmd->add_option("scenario", flags->names, "Scenarios (" + scenario_list() + "; default all)")
      ->check(CLI::IsMember(scenario_choices()));
  cmd->add_option("--size", flags->size, "Scale of the scenario the sample is drawn from")
      ->check(CLI::IsMember({"small", "full"}));
  cmd->add_option("--repeat", flags->repeat,
                  "Runs of the sample per model, in rounds; the median and range are reported (default 3)")
      ->check(whole_number())
      ->check(CLI::Range(1, 100));
  cmd->add_flag("--json", flags->json, "One JSON object per scenario");
  return {cmd, [flags] { return run_advise(*flags); }};
}

}  // namespace trident::cli
