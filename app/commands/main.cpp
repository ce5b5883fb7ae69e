// `trident`: the light commands (tour, bench, fetch, soak) run here; the heavy ones (scenarios,
// advise, transcribe, cluster-demo, and their bench suites) run in their own executables beside
// this one, so that this process maps none of libvips, libpq, FFmpeg, whisper.cpp or MPI
// (docs/layers.md, "The product"). No logic of its own lives here.

#include <CLI/CLI.hpp>

#include <array>
#include <string>
#include <vector>

#include "command_line.hpp"
#include "exit_codes.hpp"
#include "shared_commands.hpp"
#include "soak_command.hpp"
#include "trident/proc/worker_main.hpp"
#include "trident/version.hpp"

namespace {

using trident::cli::forwarded_command;

// What `trident` hands to another executable of the product, in the order --help lists them.
constexpr std::array forwarded {
  forwarded_command{"scenarios", "trident-scenarios",
                    "Run the lesson's 'choosing the right approach' guide for real: each scenario under every "
                    "model, measured, with a computed recommendation"},
      forwarded_command{
          "advise", "trident-scenarios",
          "Recommend a model for each scenario's per-item work, from a measured sample (advisor::advise)"},
#if TRIDENT_WITH_MEDIA
      forwarded_command{"transcribe", "trident-transcribe",
                        "Download audio/video files and transcribe them with Whisper, as a pipeline that keeps the "
                        "device busy"},
#endif
#if TRIDENT_WITH_CLUSTER
      forwarded_command{"cluster-demo", "trident-cluster-demo",
                        "The lesson's prime exercise on MPI ranks, or alone on a local process pool (which prints the "
                        "mpirun command for this machine)"},
#endif
      forwarded_command{"scenarios", "trident-scenarios", "", true},
#if TRIDENT_WITH_MEDIA
      forwarded_command{"media", "trident-transcribe", "", true},
#endif
#if TRIDENT_WITH_CLUSTER
      forwarded_command{"cluster", "trident-cluster-demo", "", true},
#endif
};

}  // namespace

int main(int argc, char** argv) {
  // First word to Trident: a process pool re-executes this binary as its workers.
  if (auto rc = trident::proc::worker_main(argc, argv)) return *rc;
  CLI::App app{"trident: threads, processes and async I/O for C++ — runs the concurrency lesson for real", "trident"};
  app.set_version_flag("--version", std::string("trident ") + TRIDENT_VERSION_STRING);
  app.require_subcommand(1);
  app.footer(trident::cli::exit_code::help_footer);
  app.option_defaults()->always_capture_default();

  const std::vector<trident::cli::command> commands{
      trident::cli::add_tour_command(app),
      trident::cli::add_bench_command(app, trident::bench::light_suites(), forwarded),
      trident::cli::add_fetch_command(app),
      trident::cli::add_soak_command(app),
  };
  (void)trident::cli::add_forwarded_commands(app, forwarded);
  return trident::cli::run_command_line(app, "trident", commands, forwarded, argc, argv);
}
