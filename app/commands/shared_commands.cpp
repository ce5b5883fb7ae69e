#include "shared_commands.hpp"

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "fetch_command.hpp"
#include "tour.hpp"

namespace trident::cli {

command add_tour_command(CLI::App& app) {
  auto tour = std::make_shared<lesson::tour_options>();
  auto trace = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("tour", "Run the lesson's cells in C++, with results and timings");
  cmd->add_option("cells", tour->only, "Only these cells (number or name)");
  cmd->add_flag("--list", tour->list, "List the cells and exit");
  cmd->add_flag("-q,--quiet", tour->quiet, "Only print the summary table");
  cmd->add_option("--trace", *trace, trace_help)->check(trace_path());
  return {cmd, [tour, trace] {
            tour->trace = *trace;
            return with_trace(*trace, [&] { return lesson::run_tour(*tour); });
          }};
}

command add_tour_cell_command(CLI::App& app, std::span<const tour_cell> cells) {
  struct flags {
    std::string slug;
    int result_fd = 1;
    bool quiet = false;
    std::string trace;
  };
  auto f = std::make_shared<flags>();
  std::vector<std::string> slugs;
  for (const auto& c : cells) slugs.emplace_back(c.slug);
  auto* cmd = app.add_subcommand("tour-cell", "Run one cell of `trident tour` (for the tour itself)");
  cmd->group("");  // hidden: `trident tour` runs it
  cmd->add_option("cell", f->slug, "The cell")->required()->check(CLI::IsMember(slugs));
  cmd->add_option("--result-fd", f->result_fd, "File descriptor that receives the one-line result")
      ->check(CLI::Range(0, 1023));
  cmd->add_flag("-q,--quiet", f->quiet, "No output of the cell's own");
  cmd->add_option("--trace", f->trace, trace_help)->check(trace_path());
  // The option accepts only these slugs, so the look-up always finds the cell.
  std::map<std::string, lesson::cell_fn, std::less<>> table;
  for (const auto& c : cells) table.emplace(c.slug, c.run);
  return {cmd, [f, table] {
            return with_trace(f->trace, [&] {
              return lesson::run_cell_for_tour(f->slug, table.at(f->slug), f->quiet, f->result_fd);
            });
          }};
}

command add_bench_command(CLI::App& app, std::span<const bench::suite> suites,
                          const std::vector<std::string>& forwarded_suites) {
  auto options = std::make_shared<bench::bench_options>();
  auto trace = std::make_shared<std::string>();
  std::vector<std::string> names;
  for (const auto& s : suites) names.emplace_back(s.name);
  names.insert(names.end(), forwarded_suites.begin(), forwarded_suites.end());
  auto* cmd = app.add_subcommand("bench", "Benchmark Trident against its peers in one run");
  cmd->add_option("suite", options->suite, "Suite to run")->required()->check(CLI::IsMember(names));
  cmd->add_option("--case", options->cases, "Only these cases");
  cmd->add_flag("--json", options->json, "One JSON object per line instead of a table");
  cmd->add_option("--repeat", options->repeat, "Runs per case and implementation (median reported)")
      ->check(whole_number())
      ->check(CLI::Range(1, 100));
  cmd->add_option("--trace", *trace, trace_help)->check(trace_path());
  std::vector<bench::suite> table(suites.begin(), suites.end());
  return {cmd, [options, trace, table] {
            return with_trace(*trace, [&] { return bench::run_suite(*options, table); });
          }};
}

command add_fetch_command(CLI::App& app) {
  auto fetch = std::make_shared<fetch_flags>();
  auto trace = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("fetch", "Download many URLs concurrently through one HTTP session");
  cmd->add_option("urls", fetch->urls, "URLs to download (or URL<TAB>NAME)")->default_str("");
  cmd->add_option("-i,--input", fetch->input, "Read URLs from FILE, one per line (URL or URL<TAB>NAME); - for stdin");
  cmd->add_option("-o,--output", fetch->output_dir, "Directory to save into (created if missing)");
  cmd->add_option("-j,--jobs", fetch->jobs, "Downloads at once")->check(whole_number())->check(CLI::Range(1, 10000));
  cmd->add_option("--loops", fetch->loops,
                  "Event-loop threads running the transfers (default: 2 with 2+ cores, else 1; 0: one per core)")
      ->check(whole_number())
      ->check(CLI::Range(0, 64));
  cmd->add_option("--retries", fetch->retries, "Extra attempts after a connection error, timeout, 429 or 503")
      ->check(whole_number())
      ->check(CLI::Range(0, 100));
  cmd->add_option("--timeout", fetch->timeout_s, "Seconds one attempt may take (0: no limit)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-size", fetch->max_size, "Largest body accepted, in bytes (0: no limit)")->check(whole_number());
  cmd->add_flag("--skip-existing", fetch->skip_existing, "Do not download URLs whose file already exists");
  cmd->add_flag("--json", fetch->json, "One JSON object per URL instead of the table");
  cmd->add_option("--trace", *trace, trace_help)->check(trace_path());
  return {cmd, [fetch, trace] { return with_trace(*trace, [&] { return run_fetch(*fetch); }); }};
}

}  // namespace trident::cli
