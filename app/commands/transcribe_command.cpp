// `trident transcribe`: the lesson's media example. Checks the model and the device, then runs
// media::transcribe_pipeline (download → decode → transcribe → write, docs/media.md), with a
// progress line on a terminal and a summary with × realtime.
//
// Stopping: SIGINT, SIGTERM and SIGHUP are taken by trident::stop_signals; the first stops the
// pipeline: downloads in flight are aborted and leave nothing, transcriptions in flight are
// abandoned, finished transcripts are kept (each written atomically). The exit code says which
// signal (128 + N). A second signal ends the command at once (128 + N of the first), leaving
// what SIGKILL would: finished transcripts, and at most a download's named temporary on a file
// system without O_TMPFILE (trident/core/atomic_file.hpp).

#include "transcribe_command.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <stop_token>
#include <thread>

#include "trident/core/open_file_limit.hpp"
#include "trident/core/stop_signals.hpp"
#include "trident/media/device.hpp"
#include "trident/media/errors.hpp"
#include "trident/media/pipeline.hpp"
#include "trident/media/whisper_model.hpp"

#include "exit_codes.hpp"
#include "input_list.hpp"
#include "output_folder.hpp"
#include "progress.hpp"
#include "run_summary.hpp"

namespace trident::cli {

namespace {

std::vector<std::string> read_sources(const transcribe_flags& flags) {
  std::vector<std::string> sources;
  auto take = [&](std::string line) {
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') return;
    const auto last = line.find_last_not_of(" \t\r");
    sources.push_back(line.substr(first, last - first + 1));
  };
  for (const auto& s : flags.sources) take(s);
  if (!flags.input.empty()) {
    input_list list(flags.input, "input list");
    for (std::string line; std::getline(list.stream(), line);) take(line);
  }
  return sources;
}

/// Every local input must be a readable file: one that is not is a usage error, said before the
/// model loads and before any download, naming every such input at once.
void check_local_inputs(const std::vector<std::string>& sources) {
  std::string problems;
  std::size_t count = 0;
  for (const auto& s : sources) {
    if (media::is_url(s)) continue;
    std::error_code ec;
    const auto status = std::filesystem::status(s, ec);
    std::string why;
    if (ec || !std::filesystem::exists(status)) {
      why = ec && ec != std::errc::no_such_file_or_directory ? ec.message() : "no such file";
    } else if (std::filesystem::is_directory(status)) {
      why = "a folder, not a media file";
    } else if (::access(s.c_str(), R_OK) != 0) {
      why = std::strerror(errno);
    }
    if (why.empty()) continue;
    ++count;
    problems += (problems.empty() ? "" : "; ") + ("'" + s + "': " + why);
  }
  if (count != 0) {
    throw usage_error(fmt::format("transcribe: {} input{} cannot be read: {}", count, count == 1 ? "" : "s", problems));
  }
}

/// The summary's text for a file that did not end ok: its source and what went wrong, the
/// source once (decoding errors start with the file's name, download errors name the URL).
std::string problem_text(const media::file_result& r) {
  if (r.error.empty()) return r.source;
  const bool names_source =
      r.error.starts_with(r.source + ": ") || (media::is_url(r.source) && r.error.find(r.source) != std::string::npos);
  return names_source ? r.error : r.source + ": " + r.error;
}

void print_summary(const std::vector<media::file_result>& results, double wall) {
  outcome_tally tally;
  double audio = 0;
  summary_rows rows(results.size(), fmt::format("{:<9} {:>8} {:>10} {:>9}  {}", "result", "audio s", "transcribe",
                                                "realtime", "file -> transcript / error"));
  for (const auto& r : results) {
    tally.add(r.outcome);
    if (r.outcome == media::file_outcome::ok) audio += r.audio_seconds;
    if (!rows.begin_row(r.outcome == media::file_outcome::ok)) continue;
    const std::string where =
        r.outcome == media::file_outcome::ok ? r.media.string() + " -> " + r.outputs.front().string() : problem_text(r);
    std::printf("%-9s %8.1f %9.2fs %8.1fx  %s\n", media::to_string(r.outcome), r.audio_seconds, r.transcribe_seconds,
                r.realtime(), where.c_str());
  }
  std::printf("%s; %.1f s of audio in %.2f s (%.1fx realtime)\n", tally.text(results.size(), "files").c_str(), audio,
              wall, wall > 0 ? audio / wall : 0.0);
}

}  // namespace

int run_transcribe(const transcribe_flags& flags) {
  // A descriptor per download and per file: take what the hard limit allows (the downloads are
  // capped by what is free in any case).
  (void)raise_open_file_limit();
  const auto sources = read_sources(flags);
  if (sources.empty()) throw usage_error("transcribe: no files or URLs given (arguments, -i FILE or -i -)");
  std::string model_path = flags.model;
  if (model_path.empty()) {
    if (const char* env = std::getenv("TRIDENT_WHISPER_MODEL")) model_path = env;
  }
  if (model_path.empty()) {
    throw usage_error(
        "transcribe: no model (give a ggml Whisper model file with --model PATH or TRIDENT_WHISPER_MODEL)");
  }
  check_local_inputs(sources);

  // Taken from here on: a stop while the model loads stops the pipeline before it starts.
  const stop_signals signals;

  // Everything that can make the run impossible is checked before the first download.
  media::device_choice device;
  try {
    media::check_language(flags.language);
    device = media::choose_device(flags.device, media::probe_devices());
  } catch (const std::exception& e) {
    throw usage_error(e.what());
  }
  std::fprintf(stderr, "Using device: %s (%s)\n", media::to_string(device.kind), device.reason.c_str());
  if (!flags.output_dir.empty()) prepare_output_folder(flags.output_dir);

  media::model_options mo;
  mo.device = device.kind;
  std::unique_ptr<media::whisper_model> model;
  try {
    model = std::make_unique<media::whisper_model>(model_path, mo);
  } catch (const media::model_error& e) {
    throw usage_error(e.what());
  }
  std::fprintf(stderr, "Model: %s (%s, sha256 %.12s…), loaded in %.2f s\n", model_path.c_str(),
               model->info().size_name.c_str(), model->info().sha256.c_str(), model->load_seconds());

  media::pipeline_options options;
  options.output_dir = flags.output_dir;
  options.downloads = static_cast<std::size_t>(flags.jobs);
  options.decoders = static_cast<std::size_t>(flags.decoders);
  options.states = static_cast<std::size_t>(flags.states);
  options.queue = static_cast<std::size_t>(flags.queue);
  options.retries = flags.retries;
  options.skip_existing = flags.skip_existing;
  options.srt = std::find(flags.formats.begin(), flags.formats.end(), "srt") != flags.formats.end();
  options.vtt = std::find(flags.formats.begin(), flags.formats.end(), "vtt") != flags.formats.end();
  options.transcribe.language = flags.language;
  const int cores = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  options.transcribe.threads = flags.threads > 0 ? flags.threads : std::max(1, cores / std::max(1, flags.states));
  options.transcribe.max_tokens = flags.max_tokens;
  options.transcribe.temperature_fallback = !flags.no_fallback;
  options.transcribe.timestamps = !flags.no_timestamps;
  media::transcribe_pipeline pipeline(*model, options);

  // On the signal thread, or here at once if a signal came already.
  const std::stop_callback stop_pipeline(signals.token(), [&pipeline] { pipeline.stop(); });

  const bool live = !flags.json && ::isatty(STDERR_FILENO) != 0;
  std::mutex draw_mutex;
  std::condition_variable done_cv;
  bool done = false;
  std::thread ticker;
  progress_line line(stderr, STDERR_FILENO);
  auto state = [&] {
    const auto& p = pipeline.progress();
    progress_state s;
    s.items_total = p.total;
    s.items_done = p.finished;
    s.items_failed = p.failed;
    s.items_cancelled = p.cancelled;
    return s;
  };
  if (live) {
    ticker = std::thread([&] {
      std::unique_lock lock(draw_mutex);
      while (!done) {
        line.draw(state(), pipeline.progress().download_bytes);
        done_cv.wait_for(lock, std::chrono::milliseconds(150));
      }
    });
  }

  const auto started = std::chrono::steady_clock::now();
  auto results = pipeline.run(sources, [&](const media::file_result& r) {
    if (flags.json) {
      std::printf("%s\n", r.to_json().c_str());
      std::fflush(stdout);
    }
  });
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (live) {
    {
      std::lock_guard lock(draw_mutex);
      done = true;
    }
    done_cv.notify_all();
    ticker.join();
    line.draw(state(), pipeline.progress().download_bytes);
    line.finish();
  }

  const int stop_signal = signals.received();
  if (!flags.json) {
    if (stop_signal != 0) {
      std::printf("interrupted by %s: finished transcripts were kept, unfinished files left nothing behind\n",
                  stop_signals::name(stop_signal).c_str());
    }
    print_summary(results, wall);
  }
  std::fflush(stdout);
  if (signals.received() != 0) return exit_code::for_signal(signals.received());
  for (const auto& r : results) {
    if (r.outcome == media::file_outcome::failed || r.outcome == media::file_outcome::cancelled)
      return exit_code::some_failed;
  }
  return exit_code::ok;
}

command add_transcribe_command(CLI::App& app) {
  auto transcribe = std::make_shared<transcribe_flags>();
  auto trace = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "transcribe",
      "Download audio/video files and transcribe them with Whisper, as a pipeline that keeps the device busy");
  cmd->add_option("sources", transcribe->sources, "Files or URLs to transcribe")->default_str("");
  cmd->add_option("-i,--input", transcribe->input, "Read files/URLs from FILE, one per line; - for stdin");
  cmd->add_option("-o,--output", transcribe->output_dir,
                  "Save downloads and transcripts into DIR (default: downloads in ., transcripts next to each file)");
  cmd->add_option("--model", transcribe->model, "ggml Whisper model file (default: $TRIDENT_WHISPER_MODEL)");
  cmd->add_option("--device", transcribe->device, "auto, cpu or cuda")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  cmd->add_option("--language", transcribe->language, "Spoken language: auto, or a code such as en");
  cmd->add_option("-j,--jobs", transcribe->jobs, "Downloads in flight")
      ->check(whole_number())
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--decoders", transcribe->decoders, "Decoding threads")
      ->check(whole_number())
      ->check(CLI::Range(1, 256));
  cmd->add_option("--states", transcribe->states, "Whisper states: files transcribed at once on the one model")
      ->check(whole_number())
      ->check(CLI::Range(1, 64));
  cmd->add_option("--threads", transcribe->threads, "Compute threads per state (0: the cores shared among the states)")
      ->check(whole_number())
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--queue", transcribe->queue, "Decoded files waiting for a state, at most (back-pressure)")
      ->check(whole_number())
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--retries", transcribe->retries, "Extra download attempts after a retriable failure")
      ->check(whole_number())
      ->check(CLI::Range(0, 100));
  // One value per --format (repeat it, or give a comma list): a file after it stays an input.
  cmd->add_option("--format", transcribe->formats, "Also write subtitles: srt or vtt (repeat it, or srt,vtt)")
      ->allow_extra_args(false)
      ->delimiter(',')
      ->check(CLI::IsMember({"srt", "vtt"}));
  cmd->add_option("--max-tokens", transcribe->max_tokens, "Tokens per segment at most (0: no limit)")
      ->check(whole_number())
      ->check(CLI::Range(0, 448));
  cmd->add_flag("--no-fallback", transcribe->no_fallback, "Greedy decoding once, without temperature fallback");
  cmd->add_flag("--no-timestamps", transcribe->no_timestamps, "No timestamps: one segment per file, from 0 to its end");
  cmd->add_flag("--skip-existing", transcribe->skip_existing,
                "Skip inputs whose every output asked for exists (.txt, .json, and each --format)");
  cmd->add_flag("--json", transcribe->json, "One JSON object per file instead of the table");
  cmd->add_option("--trace", *trace, trace_help)->check(trace_path());
  return {cmd, [transcribe, trace] { return with_trace(*trace, [&] { return run_transcribe(*transcribe); }); }};
}

}  // namespace trident::cli
