// `trident fetch`: reads the URL list, runs http::fetch_all on an event loop, shows progress on
// a terminal and prints the summary.
//
// Stopping: Ctrl-C (SIGINT), SIGTERM (`kill`, `timeout`) and SIGHUP (the terminal closed) all
// mean "stop, but tidy up". They are taken by trident::stop_signals, and a task on the loop
// that awaits aio::stop_requested cancels fetch_all, which then aborts the transfers in flight,
// discards their unfinished files and returns the results, so the summary is still printed, and
// the exit code says which signal (128 + N, as a shell reports it). A second signal ends the
// command at once (128 + N of the first); what it leaves is what SIGKILL would (below).
//
// What a stop cannot tidy (SIGKILL, a power cut) may leave a named temporary
// NAME.part-PID-N (see trident/core/atomic_file.hpp) on file systems without O_TMPFILE. The
// next run into the same folder removes those whose PID is no longer a live process.

#include "fetch_command.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <stop_token>
#include <system_error>
#include <vector>

#include "trident/aio/event_loop.hpp"
#include "trident/aio/run.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/aio/spawn.hpp"
#include "trident/aio/stop_requested.hpp"
#include "trident/core/atomic_file.hpp"
#include "trident/core/open_file_limit.hpp"
#include "trident/core/stop_signals.hpp"
#include "trident/http/fetch.hpp"

#include "exit_codes.hpp"
#include "input_list.hpp"
#include "output_folder.hpp"
#include "progress.hpp"
#include "run_summary.hpp"

namespace trident::cli {

namespace {

const char* outcome_name(http::fetch_outcome o) {
  switch (o) {
    case http::fetch_outcome::ok:
      return "ok";
    case http::fetch_outcome::skipped:
      return "skipped";
    case http::fetch_outcome::failed:
      return "FAILED";
    case http::fetch_outcome::cancelled:
      return "cancelled";
  }
  return "?";
}

void print_summary(const std::vector<http::fetch_result>& results, double seconds) {
  outcome_tally tally;
  std::uint64_t bytes = 0;
  summary_rows rows(results.size(), fmt::format("{:<9} {:>6} {:>10} {:>8}  {}", "result", "status", "bytes", "seconds",
                                                "url -> file / error"));
  for (const auto& r : results) {
    bytes += r.bytes;
    tally.add(r.outcome);
    if (!rows.begin_row(r.succeeded())) continue;
    std::printf("%-9s %6s %10s %8.2f  %s -> %s\n", outcome_name(r.outcome),
                r.status ? std::to_string(r.status).c_str() : "-", human_bytes(static_cast<double>(r.bytes)).c_str(),
                r.seconds, r.url.c_str(), r.succeeded() ? r.path.string().c_str() : r.error.c_str());
  }
  std::printf("%s; %s in %.2f s (%s/s)\n", tally.text(results.size(), "URLs").c_str(),
              human_bytes(static_cast<double>(bytes)).c_str(), seconds,
              human_bytes(seconds > 0 ? static_cast<double>(bytes) / seconds : 0).c_str());
}

std::vector<listed_url> read_items(const fetch_flags& flags) {
  std::vector<listed_url> items;
  for (const auto& u : flags.urls) {
    if (auto item = http::parse_fetch_line(u)) items.push_back({std::move(*item), {}});
  }
  if (!flags.input.empty()) {
    input_list list(flags.input, "URL list");
    auto listed = read_url_list(list.stream(), list.name());
    items.insert(items.end(), std::make_move_iterator(listed.begin()), std::make_move_iterator(listed.end()));
  }
  return items;
}

/// Removes the named temporaries in `dir` that a killed run left behind (see
/// atomic_file::remove_stale_temporaries: only this user's, only of processes that are gone),
/// saying so on stderr. A folder that takes files but cannot be listed is left as it is: the
/// downloads do not need the listing.
void remove_stale_temporaries(const std::filesystem::path& dir) {
  std::vector<atomic_file::stale_temporary> removed;
  try {
    removed = atomic_file::remove_stale_temporaries(dir);
  } catch (const std::system_error&) {
    return;
  }
  for (const auto& stale : removed) {
    std::fprintf(stderr, "trident fetch: removed %s, an unfinished download of process %d, which no longer runs\n",
                 stale.path.c_str(), stale.writer_pid);
  }
}

progress_state state_of(const http::fetch_progress& p) {
  progress_state s;
  s.items_total = p.total;
  s.items_done = p.done;
  s.items_failed = p.failed;
  s.items_cancelled = p.cancelled;
  s.bytes_done = p.bytes_done;
  s.bytes_expected = p.bytes_expected;
  s.items_unsized = p.unsized;
  return s;
}

/// Cancels `job` when `stop` is asked to stop (the first stop signal). Its own parameters, not
/// a lambda's captures: the task may outlive the scope that spawned it.
aio::task<void> cancel_on_stop(std::stop_token stop, aio::task_handle<std::vector<http::fetch_result>> job) {
  auto stopped = aio::stop_requested(std::move(stop));  // named: g++ 12 and temporaries in co_await (docs/aio.md)
  co_await stopped;
  job.cancel();
}

}  // namespace

std::vector<listed_url> read_url_list(std::istream& in, const std::string& list_name) {
  std::vector<listed_url> items;
  std::size_t number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (auto item = http::parse_fetch_line(line)) {
      items.push_back({std::move(*item), fmt::format("{}:{}", list_name, number)});
    }
  }
  return items;
}

std::string located_error(const http::fetch_result& result, const std::string& origin) {
  const bool url_at_fault = result.error_kind == "malformed_url" || result.error_kind == "unsupported_scheme";
  if (!url_at_fault || origin.empty()) return result.error;
  return origin + ": " + result.error;
}

int run_fetch(const fetch_flags& flags) {
  auto listed = read_items(flags);
  if (listed.empty()) {
    throw usage_error("fetch: no URLs given (arguments, -i FILE or -i -)");
  }
  std::vector<http::fetch_item> items;
  items.reserve(listed.size());
  for (auto& l : listed) items.push_back(std::move(l.item));
  prepare_output_folder(flags.output_dir);
  remove_stale_temporaries(flags.output_dir);
  // A descriptor per connection and per file: take what the hard limit allows.
  (void)raise_open_file_limit();

  http::fetch_options options;
  options.output_dir = flags.output_dir;
  options.concurrency = static_cast<std::size_t>(flags.jobs);
  options.retries = flags.retries;
  options.timeout = std::chrono::milliseconds(static_cast<long long>(flags.timeout_s * 1000));
  options.max_size = flags.max_size;
  options.skip_existing = flags.skip_existing;

  const stop_signals signals;  // to the end: a stop while the summary is printed still sets the exit code
  const bool live = !flags.json && ::isatty(STDERR_FILENO) != 0;
  const auto started = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(); };

  auto main_task = [&]() -> aio::task<std::vector<http::fetch_result>> {
    http::session_options so;
    so.max_connections = std::max(flags.jobs, 1);
    so.loops = flags.loops;
    http::session session(so);
    http::fetch_progress progress;
    auto job = aio::spawn(http::fetch_all(session, std::move(items), options, &progress), "fetch");
    auto stopper = aio::spawn(cancel_on_stop(signals.token(), job), "stop signals");
    if (live) {
      progress_line line(stderr, STDERR_FILENO);
      auto ticker = [&]() -> aio::task<void> {
        for (;;) {
          line.draw(state_of(progress), progress.bytes);
          co_await aio::sleep(std::chrono::milliseconds(150));
        }
      };
      auto tick = aio::spawn(ticker(), "progress");
      co_await job.wait();
      tick.cancel();
      co_await tick.wait();
      line.draw(state_of(progress), progress.bytes);
      line.finish();
    }
    std::vector<http::fetch_result> results = co_await job;
    stopper.cancel();
    co_await stopper.wait();
    co_return results;
  };
  auto results = aio::run(main_task());
  const int stop_signal = signals.received();
  for (std::size_t i = 0; i < results.size() && i < listed.size(); ++i) {
    results[i].error = located_error(results[i], listed[i].origin);
  }

  if (flags.json) {
    for (const auto& r : results) std::printf("%s\n", r.to_json().c_str());
  } else {
    if (stop_signal != 0) {
      std::printf("interrupted by %s: transfers in flight were cancelled and their temporary files removed\n",
                  stop_signals::name(stop_signal).c_str());
    }
    print_summary(results, elapsed());
  }
  std::fflush(stdout);
  if (signals.received() != 0) return exit_code::for_signal(signals.received());
  for (const auto& r : results) {
    if (!r.succeeded()) return exit_code::some_failed;
  }
  return exit_code::ok;
}

}  // namespace trident::cli
