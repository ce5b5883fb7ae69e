#pragma once
/// @file
/// What every program of the product shares on its command line: a command is a CLI11
/// subcommand plus what runs it, and `run_command_line` parses, dispatches and maps errors onto
/// the one exit-code scheme (exit_codes.hpp). `trident` runs the light commands itself and hands
/// the heavy ones to their own executables (`forwarded_command`), the way git runs git-foo.
///
/// Thread safety: for `main` only (single thread, before any pool starts).

#include <CLI/CLI.hpp>

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace trident::cli {

/// One command: its CLI11 subcommand and what runs it once the flags are parsed. `run` returns
/// the exit code, or throws usage_error (exit 2) or any std::exception (exit 1).
struct command {
  CLI::App* cli = nullptr;
  std::function<int()> run;
};

/// A command (or a `bench` suite) whose code lives in another executable of the product,
/// found next to this program in the build and install trees: `trident transcribe ...` runs
/// `trident-transcribe transcribe ...` in the same process (exec), so its flags, output, exit
/// code and signals are that program's own.
struct forwarded_command {
  const char* word;          ///< "transcribe", or the suite "scenarios" of `bench`
  const char* executable;    ///< "trident-transcribe"
  const char* description;   ///< One line for --help (the command's own help comes from the executable)
  bool bench_suite = false;  ///< `trident bench WORD` rather than `trident WORD`
};

/// The --trace option's help, shared by every command that has one.
extern const char* const trace_help;

/// Rejects a --trace path whose folder does not exist or is not writable, before any work.
[[nodiscard]] const CLI::Validator& trace_path();

/// The same for a --report page (`trident bench`), said as a report's folder.
[[nodiscard]] const CLI::Validator& report_path();

/// A whole number, said plainly when it is not one ("-j abc").
[[nodiscard]] const CLI::Validator& whole_number();

/// Runs `body` with timeline recording on when `path` is set, then writes the timeline: an HTML
/// page when `path` ends in ".html", else Chrome trace JSON (Perfetto).
int with_trace(const std::string& path, const std::function<int()>& body);

/// Adds the subcommands of `forwarded` to `app` for --help (each says when its executable is
/// not installed next to this program). Returns the names of the forwarded bench suites.
std::vector<std::string> add_forwarded_commands(CLI::App& app, std::span<const forwarded_command> forwarded);

/// Parses `argv` for `app`, whose subcommands are `commands` (plus `forwarded` ones), and runs
/// the one given. A forwarded command replaces this process with its executable (or fails with
/// exit 2 when it is not installed). An unknown command word or option before it is named
/// plainly (`program: unknown command 'x'`). Returns the exit code.
int run_command_line(CLI::App& app, std::string_view program, std::span<const command> commands,
                     std::span<const forwarded_command> forwarded, int argc, char** argv);

}  // namespace trident::cli
