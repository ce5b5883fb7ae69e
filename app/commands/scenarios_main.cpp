// trident-scenarios: `trident scenarios`, `trident advise`, `trident bench scenarios` and the
// tour's choosing cell, which `trident` runs here so that it does not map libvips and libpq.

#include <CLI/CLI.hpp>

#include <array>
#include <string>
#include <vector>

#include "command_line.hpp"
#include "exit_codes.hpp"
#include "scenarios_command.hpp"
#include "shared_commands.hpp"
#include "trident/proc/worker_main.hpp"
#include "trident/version.hpp"

int main(int argc, char** argv) {
  // The models run in process pools that re-execute this binary as their workers; the scenario
  // services (loopback server, private PostgreSQL: detached processes) re-execute it too.
  if (auto rc = trident::proc::worker_main(argc, argv)) return *rc;
  CLI::App app{
      "trident-scenarios: the scenarios and advise commands of trident (run them as `trident scenarios`, "
      "`trident advise`)",
      "trident"};
  app.set_version_flag("--version", std::string("trident ") + TRIDENT_VERSION_STRING);
  app.require_subcommand(1);
  app.footer(trident::cli::exit_code::help_footer);
  app.option_defaults()->always_capture_default();

  static constexpr std::array suites{trident::bench::suite{"scenarios", &trident::bench::run_scenarios_suite}};
  static constexpr std::array cells{trident::cli::tour_cell{"choosing", &trident::lesson::choosing}};
  const std::vector<trident::cli::command> commands{
      trident::cli::add_scenarios_command(app),
      trident::cli::add_advise_command(app),
      trident::cli::add_bench_command(app, suites),
      trident::cli::add_tour_cell_command(app, cells),
  };
  return trident::cli::run_command_line(app, "trident", commands, {}, argc, argv);
}
