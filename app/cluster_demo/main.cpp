// trident-cluster-demo: `trident cluster-demo` and `trident bench cluster`, which `trident` runs
// here so that it does not map MPI. Under mpirun every rank runs this program; all but rank 0
// serve the cluster's tasks (the cluster guard, first in main).

#include <CLI/CLI.hpp>

#include <array>
#include <string>
#include <vector>

#include "cluster_demo.hpp"
#include "command_line.hpp"
#include "exit_codes.hpp"
#include "shared_commands.hpp"
#include "trident/cluster/worker_main.hpp"
#include "trident/version.hpp"

int main(int argc, char** argv) {
  // The cluster guard wraps the process layer's: workers of a rank's process pool re-execute
  // this binary too.
  if (auto rc = trident::cluster::worker_main(argc, argv)) return *rc;
  CLI::App app{"trident-cluster-demo: the cluster-demo command of trident (run it as `trident cluster-demo`)",
               "trident"};
  app.set_version_flag("--version", std::string("trident ") + TRIDENT_VERSION_STRING);
  app.require_subcommand(1);
  app.footer(trident::cli::exit_code::help_footer);
  app.option_defaults()->always_capture_default();

  static constexpr std::array suites{trident::bench::suite{"cluster", &trident::bench::run_cluster_suite}};
  const std::vector<trident::cli::command> commands{
      trident::cli::add_cluster_demo_command(app),
      trident::cli::add_bench_command(app, suites),
  };
  return trident::cli::run_command_line(app, "trident", commands, {}, argc, argv);
}
