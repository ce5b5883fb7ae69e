// The `trident` command: parses flags and calls the library. No logic of its own lives here.

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>

#include "bench_suites.hpp"
#include "exit_codes.hpp"
#include "fetch_command.hpp"
#include "scenarios_command.hpp"
#include "service_process.hpp"
#if TRIDENT_WITH_MEDIA
#include "transcribe_command.hpp"
#endif
#include "tour.hpp"
#include "trident/proc/worker_main.hpp"
#include "trident/trace/html_timeline.hpp"
#if defined(TRIDENT_WITH_CLUSTER)
#include "cluster_demo.hpp"
#include "trident/cluster/worker_main.hpp"
#endif
#include "trident/trace/recorder.hpp"
#include "trident/version.hpp"

#if defined(TRIDENT_WITH_CLUSTER)
#define TRIDENT_HAS_CLUSTER_DEMO 1
#else
#define TRIDENT_HAS_CLUSTER_DEMO 0
#endif

namespace {

/// Runs `body` with timeline recording on when `path` is set, then writes the timeline: an HTML
/// page to open in a browser when `path` ends in ".html", else Chrome trace JSON (Perfetto).
template <class Body>
int with_trace(const std::string& path, Body&& body) {
  if (path.empty()) return body();
  trident::trace::start();
  const int rc = body();
  trident::trace::stop();
  if (path.ends_with(".html")) {
    trident::trace::write_html_timeline_file(path);
    std::fprintf(stderr, "timeline written to %s (open it in a web browser)\n", path.c_str());
  } else {
    trident::trace::write_chrome_json_file(path);
    std::fprintf(stderr, "trace written to %s (open it in https://ui.perfetto.dev or chrome://tracing)\n", path.c_str());
  }
  return rc;
}

/// Help of every --trace option.
constexpr const char* trace_help =
    "Record a timeline of every task; FILE.json: Chrome trace for Perfetto; FILE.html: a page to open in a browser";

/// Rejects a --trace path whose folder does not exist before any work is done.
const CLI::Validator trace_path{
    [](std::string& path) -> std::string {
      const auto slash = path.find_last_of('/');
      const std::string folder = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
      if (!std::filesystem::is_directory(folder)) return "folder '" + folder + "' of the trace file does not exist";
      if (std::filesystem::is_directory(path)) return "'" + path + "' is a folder, not a file name";
      // Checked now, so a long run does not end with a timeline it cannot write.
      if (::access(folder.c_str(), W_OK | X_OK) != 0) return "folder '" + folder + "' of the trace file is not writable";
      return {};
    },
    "FILE"};

/// A whole number, said plainly when it is not one ("-j abc"); CLI11's own conversion error
/// only repeats the flag.
const CLI::Validator whole_number{
    [](std::string& text) -> std::string {
      std::size_t used = 0;
      try {
        (void)std::stoll(text, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (text.empty() || used != text.size()) return "'" + text + "' is not a number";
      return {};
    },
    ""};  // the option's type (INT) is already in its help

}  // namespace

int main(int argc, char** argv) {
  // First word to Trident: a process pool re-executes this binary as its workers, and under
  // mpirun every rank but 0 serves the cluster's tasks (the cluster guard wraps proc's).
#if defined(TRIDENT_WITH_CLUSTER)
  if (auto rc = trident::cluster::worker_main(argc, argv)) return *rc;
#else
  if (auto rc = trident::proc::worker_main(argc, argv)) return *rc;
#endif
  // Then the scenario services (loopback server, private PostgreSQL), which also re-execute it.
  if (auto rc = trident::scenarios::service_main(argc, argv)) return *rc;
  CLI::App app{"trident: threads, processes and async I/O for C++ — runs the concurrency lesson for real"};
  app.set_version_flag("--version", std::string("trident ") + TRIDENT_VERSION_STRING);
  app.require_subcommand(1);
  app.footer(trident::cli::exit_code::help_footer);
  app.option_defaults()->always_capture_default();

  trident::lesson::tour_options tour;
  std::string tour_trace;
  auto* tour_cmd = app.add_subcommand("tour", "Run the lesson's cells in C++, with results and timings");
  tour_cmd->add_option("cells", tour.only, "Only these cells (number or name)");
  tour_cmd->add_flag("--list", tour.list, "List the cells and exit");
  tour_cmd->add_flag("-q,--quiet", tour.quiet, "Only print the summary table");
  tour_cmd->add_option("--trace", tour_trace, trace_help)
      ->check(trace_path);

  trident::bench::bench_options bench;
  std::string bench_trace;
  auto* bench_cmd = app.add_subcommand("bench", "Benchmark Trident against its peers in one run");
  bench_cmd->add_option("suite", bench.suite, "Suite to run")->required()->check(CLI::IsMember(trident::bench::suite_names()));
  bench_cmd->add_option("--case", bench.cases, "Only these cases");
  bench_cmd->add_flag("--json", bench.json, "One JSON object per line instead of a table");
  bench_cmd->add_option("--repeat", bench.repeat, "Runs per case and implementation (median reported)")
      ->check(whole_number)
      ->check(CLI::Range(1, 100));
  bench_cmd->add_option("--trace", bench_trace, trace_help)->check(trace_path);

  trident::cli::fetch_flags fetch;
  std::string fetch_trace;
  auto* fetch_cmd = app.add_subcommand("fetch", "Download many URLs concurrently through one HTTP session");
  fetch_cmd->add_option("urls", fetch.urls, "URLs to download (or URL<TAB>NAME)")->default_str("");
  fetch_cmd->add_option("-i,--input", fetch.input, "Read URLs from FILE, one per line (URL or URL<TAB>NAME); - for stdin");
  fetch_cmd->add_option("-o,--output", fetch.output_dir, "Directory to save into (created if missing)");
  fetch_cmd->add_option("-j,--jobs", fetch.jobs, "Downloads at once")->check(whole_number)->check(CLI::Range(1, 10000));
  fetch_cmd->add_option("--loops", fetch.loops, "Event-loop threads running the transfers (0: one per core)")
      ->check(whole_number)
      ->check(CLI::Range(0, 64));
  fetch_cmd->add_option("--retries", fetch.retries, "Extra attempts after a connection error, timeout, 429 or 503")
      ->check(whole_number)
      ->check(CLI::Range(0, 100));
  fetch_cmd->add_option("--timeout", fetch.timeout_s, "Seconds one attempt may take (0: no limit)")->check(CLI::NonNegativeNumber);
  fetch_cmd->add_option("--max-size", fetch.max_size, "Largest body accepted, in bytes (0: no limit)")->check(whole_number);
  fetch_cmd->add_flag("--skip-existing", fetch.skip_existing, "Do not download URLs whose file already exists");
  fetch_cmd->add_flag("--json", fetch.json, "One JSON object per URL instead of the table");
  fetch_cmd->add_option("--trace", fetch_trace, trace_help)->check(trace_path);

  trident::cli::scenarios_flags scenarios;
  std::string scenarios_trace;
  const std::string scenario_list = [] {
    std::string list;
    for (const auto& name : trident::cli::scenario_choices()) list += (list.empty() ? "" : "|") + name;
    return list;
  }();
  auto* scenarios_cmd = app.add_subcommand(
      "scenarios", "Run the lesson's 'choosing the right approach' guide for real: each scenario under every model, "
                   "measured, with a computed recommendation");
  scenarios_cmd->add_option("scenario", scenarios.names, "Scenarios to run (" + scenario_list + "; default all)")
      ->check(CLI::IsMember(trident::cli::scenario_choices()));
  scenarios_cmd->add_option("--size", scenarios.size, "small: a few seconds in all; full: the lesson's sizes")
      ->check(CLI::IsMember({"small", "full"}));
  scenarios_cmd->add_option("--repeat", scenarios.repeat,
                            "Runs per model, in rounds, each in a fresh process; the median and range are reported "
                            "and overlapping ranges tie (default: 3 at --size small, 1 at full)")
      ->check(whole_number)
      ->check(CLI::Range(1, 100));
  scenarios_cmd->add_option("--seed", scenarios.seed, "Seed of every random choice (latencies, sizes, images)")
      ->check(whole_number);
  scenarios_cmd->add_flag("--json", scenarios.json, "One JSON object per scenario and model instead of tables");
  scenarios_cmd->add_option("--trace", scenarios_trace, "Write a timeline to FILE (.html: a page; else Chrome trace JSON)")
      ->check(trace_path);

  trident::cli::scenarios_flags advise;
  auto* advise_cmd = app.add_subcommand(
      "advise", "Recommend a model for each scenario's per-item work, from a measured sample (advisor::advise)");
  advise_cmd->add_option("scenario", advise.names, "Scenarios (" + scenario_list + "; default all)")
      ->check(CLI::IsMember(trident::cli::scenario_choices()));
  advise_cmd->add_option("--size", advise.size, "Scale of the scenario the sample is drawn from")
      ->check(CLI::IsMember({"small", "full"}));
  advise_cmd->add_option("--repeat", advise.repeat,
                         "Runs of the sample per model, in rounds; the median and range are reported (default 3)")
      ->check(whole_number)
      ->check(CLI::Range(1, 100));
  advise_cmd->add_flag("--json", advise.json, "One JSON object per scenario");

#if defined(TRIDENT_WITH_CLUSTER)
  trident::cli::cluster_demo_options demo;
  auto* demo_cmd = app.add_subcommand(
      "cluster-demo",
      "The lesson's prime exercise on MPI ranks, or alone on a local process pool (which prints the mpirun command "
      "for this machine)");
  demo_cmd->add_option("--numbers", demo.numbers, "Large numbers (> 10^12) to check")
      ->check(whole_number)
      ->check(CLI::Range(1, 10000000));
  demo_cmd->add_option("--chunksize", demo.chunksize, "Numbers per message to a rank")
      ->check(whole_number)
      ->check(CLI::Range(1, 1000000));
  demo_cmd->add_option("--workers", demo.workers_per_rank, "Workers on each rank (0: its hardware threads)")
      ->check(whole_number)
      ->check(CLI::Range(0, 1024));
  demo_cmd->add_option("--executor", demo.executor, "What runs tasks on a rank: process or thread")
      ->check(CLI::IsMember({"process", "thread"}));
#endif

#if TRIDENT_WITH_MEDIA
  trident::cli::transcribe_flags transcribe;
  std::string transcribe_trace;
  auto* transcribe_cmd = app.add_subcommand(
      "transcribe", "Download audio/video files and transcribe them with Whisper, as a pipeline that keeps the device busy");
  transcribe_cmd->add_option("sources", transcribe.sources, "Files or URLs to transcribe")->default_str("");
  transcribe_cmd->add_option("-i,--input", transcribe.input, "Read files/URLs from FILE, one per line; - for stdin");
  transcribe_cmd->add_option("-o,--output", transcribe.output_dir,
                             "Save downloads and transcripts into DIR (default: downloads in ., transcripts next to each file)");
  transcribe_cmd->add_option("--model", transcribe.model, "ggml Whisper model file (default: $TRIDENT_WHISPER_MODEL)");
  transcribe_cmd->add_option("--device", transcribe.device, "auto, cpu or cuda")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  transcribe_cmd->add_option("--language", transcribe.language, "Spoken language: auto, or a code such as en");
  transcribe_cmd->add_option("-j,--jobs", transcribe.jobs, "Downloads in flight")->check(whole_number)->check(CLI::Range(1, 1000));
  transcribe_cmd->add_option("--decoders", transcribe.decoders, "Decoding threads")->check(whole_number)->check(CLI::Range(1, 256));
  transcribe_cmd->add_option("--states", transcribe.states, "Whisper states: files transcribed at once on the one model")
      ->check(whole_number)
      ->check(CLI::Range(1, 64));
  transcribe_cmd->add_option("--threads", transcribe.threads, "Compute threads per state (0: the cores shared among the states)")
      ->check(whole_number)
      ->check(CLI::Range(0, 1024));
  transcribe_cmd->add_option("--queue", transcribe.queue, "Decoded files waiting for a state, at most (back-pressure)")
      ->check(whole_number)
      ->check(CLI::Range(1, 1024));
  transcribe_cmd->add_option("--retries", transcribe.retries, "Extra download attempts after a retriable failure")
      ->check(whole_number)
      ->check(CLI::Range(0, 100));
  // One value per --format (repeat it, or give a comma list): a file after it stays an input.
  transcribe_cmd->add_option("--format", transcribe.formats, "Also write subtitles: srt or vtt (repeat it, or srt,vtt)")
      ->allow_extra_args(false)
      ->delimiter(',')
      ->check(CLI::IsMember({"srt", "vtt"}));
  transcribe_cmd->add_option("--max-tokens", transcribe.max_tokens, "Tokens per segment at most (0: no limit)")
      ->check(whole_number)
      ->check(CLI::Range(0, 448));
  transcribe_cmd->add_flag("--no-fallback", transcribe.no_fallback, "Greedy decoding once, without temperature fallback");
  transcribe_cmd->add_flag("--no-timestamps", transcribe.no_timestamps,
                           "No timestamps: one segment per file, from 0 to its end");
  transcribe_cmd->add_flag("--skip-existing", transcribe.skip_existing,
                           "Skip inputs whose every output asked for exists (.txt, .json, and each --format)");
  transcribe_cmd->add_flag("--json", transcribe.json, "One JSON object per file instead of the table");
  transcribe_cmd->add_option("--trace", transcribe_trace, trace_help)->check(trace_path);
#endif

  // CLI11 would report an unknown command word, or an unknown option before the command
  // (`trident --bogus`), as "a subcommand is required"; name the word instead. The words up to
  // the command are trident's own options (--help, --version), then the command.
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word == "--") break;
    if (word.size() > 1 && word[0] == '-') {
      if (app.get_option_no_throw(word.substr(0, word.find('='))) != nullptr) continue;
      std::fprintf(stderr, "trident: unknown option '%s' (see trident --help)\n", word.c_str());
      return trident::cli::exit_code::usage;
    }
    try {
      (void)app.get_subcommand(word);
    } catch (const CLI::OptionNotFound&) {
      std::fprintf(stderr, "trident: unknown command '%s' (commands: tour, bench, fetch, scenarios, advise%s%s; see trident --help)\n",
                   word.c_str(), TRIDENT_WITH_MEDIA ? ", transcribe" : "", TRIDENT_HAS_CLUSTER_DEMO ? ", cluster-demo" : "");
      return trident::cli::exit_code::usage;
    }
    break;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help and version go to stdout (exit 0); every parse error to stderr with the one usage
    // code, not CLI11's own numbers (105, 109...), which no other command uses.
    const int rc = app.exit(e);
    return rc == 0 ? trident::cli::exit_code::ok : trident::cli::exit_code::usage;
  }

  try {
    if (*tour_cmd) return with_trace(tour_trace, [&] { return trident::lesson::run_tour(tour); });
    if (*bench_cmd) return with_trace(bench_trace, [&] { return trident::bench::run_suite(bench); });
    if (*fetch_cmd) return with_trace(fetch_trace, [&] { return trident::cli::run_fetch(fetch); });
    if (*scenarios_cmd) return with_trace(scenarios_trace, [&] { return trident::cli::run_scenarios(scenarios); });
    if (*advise_cmd) return trident::cli::run_advise(advise);
#if defined(TRIDENT_WITH_CLUSTER)
    if (*demo_cmd) return trident::cli::run_cluster_demo(demo);
#endif
#if TRIDENT_WITH_MEDIA
    if (*transcribe_cmd) return with_trace(transcribe_trace, [&] { return trident::cli::run_transcribe(transcribe); });
#endif
  } catch (const trident::cli::usage_error& e) {
    std::fprintf(stderr, "trident: %s\n", e.what());
    return trident::cli::exit_code::usage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "trident: error: %s\n", e.what());
    return trident::cli::exit_code::some_failed;
  }
  return trident::cli::exit_code::ok;
}
