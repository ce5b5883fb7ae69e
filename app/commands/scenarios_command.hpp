#pragma once
// `trident scenarios` and `trident advise`: the lesson's "choosing the right approach" guide,
// measured (app/scenarios/), and the advisor's recommendation for each scenario's per-item work.

#include <cstdint>
#include <string>
#include <vector>

#include "command_line.hpp"

namespace trident::cli {

struct scenarios_flags {
  std::vector<std::string> names;  // web, images, db, mixed, all (empty: all)
  std::string size = "full";       // small | full
  int repeat = 0;                  // 0: the default (scenario_runner.hpp, advise.hpp)
  std::uint64_t seed = 42;
  bool json = false;
};

/// Runs the scenarios; returns the exit code (exit_codes.hpp: 0 every model ran and agreed,
/// 1 some model failed or disagreed, 128+N stopped by signal N). A scenario that cannot run
/// here (PostgreSQL missing) is skipped with what to install, not failed. Throws `usage_error`
/// for an unknown scenario name.
int run_scenarios(const scenarios_flags& flags);

/// `trident advise`: runs advisor::advise on a sample of each named scenario's items and prints
/// the recommended model, workers and figures. Exit codes as run_scenarios.
int run_advise(const scenarios_flags& flags);

/// The scenario names a user may give, "all" included.
[[nodiscard]] std::vector<std::string> scenario_choices();

/// `scenarios [NAMES...] [--size S] [--repeat N] [--seed N] [--json] [--trace FILE]` on `app`.
[[nodiscard]] command add_scenarios_command(CLI::App& app);

/// `advise [NAMES...] [--size S] [--repeat N] [--json]` on `app`.
[[nodiscard]] command add_advise_command(CLI::App& app);

}  // namespace trident::cli
