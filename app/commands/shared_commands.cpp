#include "shared_commands.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>

#include <fmt/format.h>

#include "compare_runs.hpp"
#include "exit_codes.hpp"
#include "fetch_command.hpp"
#include "html_report.hpp"
#include "program_path.hpp"
#include "results_json.hpp"
#include "tour.hpp"

extern char** environ;

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

namespace {

/// Runs `argv` (its first word a program's path) with this process's standard streams and waits.
/// Stop signals are the child's to handle meanwhile (it is in this terminal's process group and
/// gets them too); returns its exit code, or 128 + N for a child ended by signal N.
int run_and_wait(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  struct sigaction before[3]{};
  const int stops[3] = {SIGINT, SIGTERM, SIGHUP};
  for (int i = 0; i < 3; ++i) ::sigaction(stops[i], &ignore, &before[i]);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (const int sig : stops) sigaddset(&defaults, sig);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, args[0], nullptr, &attr, args.data(), environ);
  posix_spawnattr_destroy(&attr);
  int status = 0;
  if (rc == 0) {
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  }
  for (int i = 0; i < 3; ++i) ::sigaction(stops[i], &before[i], nullptr);
  if (rc != 0) throw std::system_error(rc, std::generic_category(), "cannot run " + argv[0]);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

}  // namespace

int run_all_bench_suites(const bench::bench_options& options, std::span<const bench::suite> suites,
                         std::span<const forwarded_command> forwarded) {
  if (!options.cases.empty()) throw usage_error("--case names a case of one suite; it does not go with 'all'");
  if (!options.results.empty()) throw usage_error("--results is for one suite; 'all' takes --report");
  bench::machine_info machine = bench::machine_now();
  std::vector<bench::suite_results> measured;
  int worst = 0;
  for (const auto& s : suites) {
    if (!options.json) std::printf("== bench %s ==\n", s.name);
    bench::bench_options one = options;
    one.suite = s.name;
    one.report.clear();
    one.on_results = [&measured](const bench::suite_results& r) { measured.push_back(r); };
    const std::array single{s};
    worst = std::max(worst, bench::run_suite(one, single));
    if (!options.json) std::printf("\n");
  }
  for (const auto& f : forwarded) {
    if (!f.bench_suite) continue;
    const std::string exe = app::beside_this_program(f.executable).string();
    if (::access(exe.c_str(), X_OK) != 0) {
      std::fprintf(stderr, "note: bench %s skipped: %s is not installed next to this program\n", f.word, f.executable);
      continue;
    }
    if (!options.json) std::printf("== bench %s ==\n", f.word);
    const std::filesystem::path results =
        std::filesystem::temp_directory_path() / fmt::format("trident-bench-{}-{}.json", ::getpid(), f.word);
    std::vector<std::string> argv{exe, "bench", f.word, "--repeat", std::to_string(options.repeat)};
    argv.insert(argv.end(), {"--results", results.string()});
    if (options.json) argv.emplace_back("--json");
    const int rc = run_and_wait(argv);
    if (std::ifstream in(results); in) {
      std::stringstream text;
      text << in.rdbuf();
      measured.push_back(bench::suite_results_from_json(text.str()));
    }
    std::error_code ignored;
    std::filesystem::remove(results, ignored);
    worst = std::max(worst, rc);
    if (rc > 128) return rc;
    if (!options.json) std::printf("\n");
  }
  machine.load_after = bench::load_average_now();
  if (!options.report.empty()) {
    bench::write_html_report(options.report, measured, machine);
    std::fprintf(stderr, "report written to %s (open it in a web browser)\n", options.report.c_str());
  }
  return worst;
}

command add_bench_command(CLI::App& app, std::span<const bench::suite> suites,
                          std::span<const forwarded_command> forwarded) {
  auto options = std::make_shared<bench::bench_options>();
  auto trace = std::make_shared<std::string>();
  auto runs = std::make_shared<std::vector<std::string>>();
  std::vector<std::string> names;
  for (const auto& s : suites) names.emplace_back(s.name);
  std::vector<forwarded_command> forwarded_suites;
  for (const auto& f : forwarded) {
    if (!f.bench_suite) continue;
    names.emplace_back(f.word);
    forwarded_suites.push_back(f);
  }
  names.emplace_back("all");
  names.emplace_back("compare");
  auto* cmd = app.add_subcommand("bench", "Benchmark Trident against its peers in one run");
  cmd->add_option("suite", options->suite,
                  "Suite to run; all: every suite; compare A.json B.json: what changed between two --json runs")
      ->required()
      ->check(CLI::IsMember(names));
  cmd->add_option("runs", *runs, "For compare: the --json outputs of the two runs, A then B");
  cmd->add_option("--case", options->cases, "Only these cases (any row of a case runs the case)");
  cmd->add_flag("--json", options->json, "One JSON object per line instead of a table");
  cmd->add_option("--repeat", options->repeat, "Runs per case and implementation (median reported)")
      ->check(whole_number())
      ->check(CLI::Range(1, 100));
  cmd->add_option("--report", options->report,
                  "Also write FILE.html: a chart per case (medians, ranges, ratios to Trident, targets), the machine")
      ->check(report_path());
  // For `bench all`: a forwarded suite's results, read back for the page.
  cmd->add_option("--results", options->results, "Write the suite's results as one JSON document")
      ->check(report_path())
      ->group("");
  cmd->add_option("--trace", *trace, trace_help)->check(trace_path());
  std::vector<bench::suite> table(suites.begin(), suites.end());
  return {cmd, [options, trace, runs, table, forwarded_suites] {
            if (options->suite == "compare") {
              if (runs->size() != 2) throw usage_error("bench compare takes two files: A.json B.json");
              return bench::run_compare((*runs)[0], (*runs)[1], std::cout);
            }
            if (!runs->empty()) throw usage_error(fmt::format("unexpected argument '{}'", runs->front()));
            return with_trace(*trace, [&] {
              if (options->suite == "all") return run_all_bench_suites(*options, table, forwarded_suites);
              return bench::run_suite(*options, table);
            });
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
  cmd->add_option("--timeout", fetch->timeout_s, "Seconds one attempt may take (0: no limit)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-size", fetch->max_size, "Largest body accepted, in bytes (0: no limit)")
      ->check(whole_number());
  cmd->add_flag("--skip-existing", fetch->skip_existing, "Do not download URLs whose file already exists");
  cmd->add_flag("--json", fetch->json, "One JSON object per URL instead of the table");
  cmd->add_option("--trace", *trace, trace_help)->check(trace_path());
  return {cmd, [fetch, trace] { return with_trace(*trace, [&] { return run_fetch(*fetch); }); }};
}

}  // namespace trident::cli
