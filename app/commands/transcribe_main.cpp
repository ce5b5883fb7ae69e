// trident-transcribe: `trident transcribe`, `trident bench media` and the tour's media cell,
// which `trident` runs here so that it does not map FFmpeg's libraries and whisper.cpp.

#include <CLI/CLI.hpp>

#include <array>
#include <string>
#include <vector>

#include "command_line.hpp"
#include "exit_codes.hpp"
#include "shared_commands.hpp"
#include "transcribe_command.hpp"
#include "trident/proc/worker_main.hpp"
#include "trident/version.hpp"

int main(int argc, char** argv) {
  if (auto rc = trident::proc::worker_main(argc, argv)) return *rc;
  CLI::App app{"trident-transcribe: the transcribe command of trident (run it as `trident transcribe`)", "trident"};
  app.set_version_flag("--version", std::string("trident ") + TRIDENT_VERSION_STRING);
  app.require_subcommand(1);
  app.footer(trident::cli::exit_code::help_footer);
  app.option_defaults()->always_capture_default();

  static constexpr std::array suites{trident::bench::suite{"media", &trident::bench::run_media_suite}};
  static constexpr std::array cells{trident::cli::tour_cell{"transcribe", &trident::lesson::transcribe}};
  const std::vector<trident::cli::command> commands{
      trident::cli::add_transcribe_command(app),
      trident::cli::add_bench_command(app, suites),
      trident::cli::add_tour_cell_command(app, cells),
  };
  return trident::cli::run_command_line(app, "trident", commands, {}, argc, argv);
}
