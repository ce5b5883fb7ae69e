#pragma once
/// @file
/// The commands several programs of the product offer: `tour`, `bench` and `fetch` in `trident`;
/// `bench` (their own suites) and the hidden `tour-cell` in each heavy command's executable.
/// Each adds its subcommand and flags to a CLI11 app and returns what runs it (command_line.hpp).
///
/// Thread safety: for `main` only.

#include <span>
#include <string>
#include <vector>

#include "bench_suites.hpp"
#include "cell.hpp"
#include "command_line.hpp"

namespace trident::cli {

/// `tour [CELLS...] [--list] [-q] [--trace FILE]`: the lesson's cells (lesson::run_tour).
[[nodiscard]] command add_tour_command(CLI::App& app);

/// A cell of the tour that this program runs in its own process.
struct tour_cell {
  const char* slug;
  lesson::cell_fn run;
};

/// `tour-cell SLUG --result-fd N [--quiet]` (hidden from --help): runs one of `cells` for a
/// `trident tour` in another process (lesson::run_cell_for_tour).
[[nodiscard]] command add_tour_cell_command(CLI::App& app, std::span<const tour_cell> cells);

/// `bench SUITE [--case NAME]... [--json] [--repeat N] [--report FILE.html] [--trace FILE]`: runs
/// one of `suites`; the bench suites of `forwarded` are accepted too (run_command_line hands them
/// to their executables before this command is parsed). `bench all` runs every one of `suites`,
/// then each forwarded suite in its executable, one report for all; `bench compare A.json
/// B.json` compares two `--json` runs (compare_runs.hpp).
[[nodiscard]] command add_bench_command(CLI::App& app, std::span<const bench::suite> suites,
                                        std::span<const forwarded_command> forwarded = {});

/// `trident bench all`: every one of `suites` in this process, then each bench suite of
/// `forwarded` in its executable beside this program (one that is not there is noted and
/// skipped), reading its results back through `--results` into a temporary file; then the page,
/// with `options.report`, of every suite. Each suite prints its own table (or --json lines).
/// Returns the worst exit code, or at once the 128 + N of a suite stopped by signal N. Throws
/// usage_error for `--case` or `--results` (each is for one suite).
[[nodiscard]] int run_all_bench_suites(const bench::bench_options& options, std::span<const bench::suite> suites,
                                       std::span<const forwarded_command> forwarded);

/// `fetch URLS... [-i FILE] [-o DIR] ...`: downloads through one HTTP session (run_fetch).
[[nodiscard]] command add_fetch_command(CLI::App& app);

}  // namespace trident::cli
