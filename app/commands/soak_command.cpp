// `trident soak`: runs the mixed load (soak_load.hpp) for the time asked, samples the process's
// resources every second, and every check period checks the work (every result correct,
// nothing lost, each part still making progress), the process pool's counters, and the
// resources against the baseline taken after the warm-up (soak_bounds.hpp). The first failed
// check ends the run.
//
// Stopping: Ctrl-C, SIGTERM and SIGHUP (trident::stop_signals) stop the load the way the end
// of the run does — each part finishes what it is doing, the pool's workers are reaped, the
// server stops — and the summary so far is printed; the exit code is then 128 + N.

#include "soak_command.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "exit_codes.hpp"
#include "soak_bounds.hpp"
#include "soak_load.hpp"
#include "soak_resources.hpp"
#include "trident/core/stop_signals.hpp"

namespace trident::cli {

namespace {

using steady = std::chrono::steady_clock;
using soak::fault;
using soak::work;

std::string mib(std::int64_t bytes) { return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1 << 20)); }

std::string clock_text(double seconds) {
  const auto s = static_cast<long long>(seconds);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

/// A resource over the run: at launch (before the load), at the baseline, the most seen, and
/// at the last sample while the load ran.
struct series {
  std::int64_t start = -1;
  std::int64_t baseline = -1;
  std::int64_t max = -1;
  std::int64_t end = -1;

  void add(std::int64_t v) {
    if (start < 0) start = v;
    max = std::max(max, v);
    end = v;
  }
  [[nodiscard]] nlohmann::json json(std::int64_t allowed) const {
    nlohmann::json j{{"start", start}, {"baseline", baseline}, {"max", max}, {"end", end}};
    j["bound"] = baseline >= 0 ? nlohmann::json(baseline + allowed) : nlohmann::json(nullptr);
    return j;
  }
};

struct resource_series {
  series rss, descriptors, memfds, shmem, threads, processes;

  void add(const soak::resource_sample& s) {
    rss.add(s.rss_bytes);
    descriptors.add(s.descriptors);
    memfds.add(s.memfds);
    shmem.add(s.shmem_bytes);
    threads.add(s.threads);
    processes.add(s.processes);
  }
  void set_baseline(const soak::resource_sample& s) {
    rss.baseline = s.rss_bytes;
    descriptors.baseline = s.descriptors;
    memfds.baseline = s.memfds;
    shmem.baseline = s.shmem_bytes;
    threads.baseline = s.threads;
    processes.baseline = s.processes;
  }
};

std::string resources_text(const soak::resource_sample& s) {
  return fmt::format("RSS {}, fds {} + {} memfd, Shmem {}, threads {}, processes {}", mib(s.rss_bytes), s.descriptors,
                     s.memfds, mib(s.shmem_bytes), s.threads, s.processes);
}

std::string done_text(const soak::load_counts& c) {
  auto d = [&](work w) { return c.done[static_cast<std::size_t>(w)]; };
  return fmt::format("coroutines {}, timers {}, thread pool {}, map items {}, IPC {}, fetches {}", d(work::coroutines),
                     d(work::timers), d(work::thread_pool), d(work::map_items), d(work::ipc_messages),
                     d(work::fetches));
}

/// How long a part of the load may go without completing anything: the longer of the check
/// period and 30 s (a map segment run again twice on a busy machine takes a few seconds).
constexpr double stall_limit_s = 30;

/// When each part of the load last completed something (seconds into the run), updated from
/// the counts at each check.
struct progress_times {
  std::array<double, static_cast<std::size_t>(work::count)> last{};
  soak::load_counts counts;

  void update(const soak::load_counts& now, double at_s) {
    for (std::size_t i = 0; i < last.size(); ++i) {
      if (now.done[i] != counts.done[i]) last[i] = at_s;
    }
    counts = now;
  }
};

/// What is wrong at a check: the load's own problems, a part that completed nothing for longer
/// than the stall limit, the pool's counters, the resources against the baseline.
std::vector<std::string> check_now(const soak::mixed_load& load, const progress_times& progress, double at_s,
                                   double stall_s, const soak::load_counts& now,
                                   const std::optional<soak::resource_sample>& baseline,
                                   const soak::resource_sample& sample, const soak::growth_limits& limits) {
  std::vector<std::string> out = load.problems();
  if (now.lost != 0 && out.empty()) out.push_back(fmt::format("{} units of work lost", now.lost));
  for (std::size_t i = 0; i < progress.last.size(); ++i) {
    if (at_s - progress.last[i] > stall_s) {
      out.push_back(fmt::format("no {} completed in the last {:.0f} s (at most {:.0f} s allowed)",
                                soak::name_of(static_cast<work>(i)), at_s - progress.last[i], stall_s));
    }
  }
  for (auto& p : load.check_pool()) out.push_back(std::move(p));
  if (baseline) {
    for (const auto& v : soak::check_growth(*baseline, sample, limits)) out.push_back(v.message());
  }
  return out;
}

/// The descendants left once the load stopped, but the fork servers (which live as long as
/// the program): waits up to 5 s for them to be reaped.
std::vector<pid_t> leftover_processes() {
  const pid_t self = ::getpid();
  std::vector<pid_t> left;
  for (const auto deadline = steady::now() + std::chrono::seconds(5);;) {
    left.clear();
    for (const pid_t p : soak::descendants(self)) {
      if (!soak::is_fork_server_of(p, self)) left.push_back(p);
    }
    if (left.empty() || steady::now() > deadline) return left;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace

int run_soak(const soak_flags& flags) {
  if ((flags.minutes > 0) == (flags.seconds > 0)) {
    throw usage_error("soak: give the duration once, as --minutes N or --seconds N");
  }
  const double total_s = flags.minutes > 0 ? flags.minutes * 60 : flags.seconds;
  const double warmup_s = flags.warmup_s >= 0 ? flags.warmup_s : std::min(60.0, total_s / 4);
  if (warmup_s >= total_s) {
    throw usage_error(
        fmt::format("soak: the warm-up ({:.0f} s) must end before the run ({:.0f} s)", warmup_s, total_s));
  }
  const double period_s = flags.check_every_s;
  const soak::growth_limits limits;
  const stop_signals signals;

  std::printf(
      "trident soak: %s of mixed load (coroutines and timers, a thread pool with nested waits, a process map "
      "with workers killed, IPC queues between processes, fetch against a faulty server)\n",
      clock_text(total_s).c_str());
  std::printf("checks every %.0f s; baseline after a %.0f s warm-up; bounds over it: %s\n", period_s, warmup_s,
              soak::describe(limits).c_str());
  std::fflush(stdout);

  resource_series curves;
  const soak::resource_sample launch = soak::sample_resources();
  curves.add(launch);
  soak::load_options lo;
  lo.workers = static_cast<std::size_t>(flags.workers);
  soak::mixed_load load(lo);
  load.start();

  const auto t0 = steady::now();
  auto seconds_since = [&](steady::time_point t) { return std::chrono::duration<double>(t - t0).count(); };
  const auto end = t0 + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(total_s));
  const auto warm_end = t0 + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(warmup_s));
  const auto period = std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(period_s));
  auto next_check = t0 + period;
  std::optional<soak::resource_sample> baseline;
  soak::resource_sample last_sample = launch;
  progress_times progress;
  progress.counts = load.counts();
  const double stall_s = std::max(period_s, stall_limit_s);
  int checks = 0;
  std::vector<std::string> failure;
  std::mutex mutex;
  std::condition_variable_any wake;
  for (;;) {
    const auto now = steady::now();
    auto until = std::min({next_check, end, now + std::chrono::seconds(1)});
    if (!baseline) until = std::min(until, warm_end);
    {
      std::unique_lock lock(mutex);
      (void)wake.wait_until(lock, signals.token(), until, [] { return false; });
    }
    if (signals.stop_requested()) break;
    const auto at = steady::now();
    last_sample = soak::sample_resources();
    curves.add(last_sample);
    if (!baseline && at >= warm_end) {
      baseline = last_sample;
      curves.set_baseline(last_sample);
      std::printf("[%6s] baseline after the warm-up: %s\n", clock_text(seconds_since(at)).c_str(),
                  resources_text(last_sample).c_str());
      std::fflush(stdout);
    }
    if (at >= next_check || at >= end) {
      ++checks;
      const soak::load_counts counts = load.counts();
      progress.update(counts, seconds_since(at));
      failure = check_now(load, progress, seconds_since(at), stall_s, counts, baseline, last_sample, limits);
      std::printf("[%6s] check %d %s: %s; faults %llu injected, %llu survived; lost %llu | %s%s\n",
                  clock_text(seconds_since(at)).c_str(), checks, failure.empty() ? "ok" : "FAILED",
                  done_text(counts).c_str(), static_cast<unsigned long long>(counts.faults_injected()),
                  static_cast<unsigned long long>(counts.faults_survived()),
                  static_cast<unsigned long long>(counts.lost), resources_text(last_sample).c_str(),
                  baseline ? "" : " (warm-up: no baseline yet)");
      for (const auto& f : failure) std::printf("         FAILED: %s\n", f.c_str());
      std::fflush(stdout);
      if (!failure.empty()) break;
      while (next_check <= at) next_check += period;
    }
    if (at >= end) break;
  }
  const double ran_s = seconds_since(steady::now());
  const int stop_signal = signals.received();
  if (stop_signal != 0) {
    std::printf("interrupted by %s after %s: stopping the load\n", stop_signals::name(stop_signal).c_str(),
                clock_text(ran_s).c_str());
    std::fflush(stdout);
  }

  // Stop the load and check what it leaves: the pool's counters once it is shut down, no
  // process but the fork server, no memfd more than at launch.
  load.stop();
  const soak::load_counts totals = load.counts();
  const auto pool = load.pool_statistics();
  std::vector<std::string> after = load.check_pool();
  for (const auto& p : load.problems()) {
    if (std::find(failure.begin(), failure.end(), p) == failure.end()) after.push_back(p);
  }
  const std::vector<pid_t> left = leftover_processes();
  if (!left.empty()) {
    after.push_back(fmt::format("{} process(es) left after the load stopped (first: PID {})", left.size(), left[0]));
  }
  const soak::resource_sample stopped = soak::sample_resources();
  if (stopped.memfds > launch.memfds) {
    after.push_back(
        fmt::format("{} memfd descriptors open after the load stopped, {} at launch", stopped.memfds, launch.memfds));
  }
  for (auto& a : after) failure.push_back(std::move(a));
  const bool passed = failure.empty();

  auto d = [&](work w) { return totals.done[static_cast<std::size_t>(w)]; };
  std::printf("\nsoak summary: %s of mixed load, %d check(s), %s\n", clock_text(ran_s).c_str(), checks,
              passed ? "all passed" : "FAILED");
  std::printf(
      "  tasks done: coroutines %llu, timers %llu, thread pool tasks %llu, process map items %llu (%llu "
      "segments, %llu run again after a killed worker), IPC messages %llu (%llu producer/relay rounds), "
      "fetches %llu\n",
      static_cast<unsigned long long>(d(work::coroutines)), static_cast<unsigned long long>(d(work::timers)),
      static_cast<unsigned long long>(d(work::thread_pool)), static_cast<unsigned long long>(d(work::map_items)),
      static_cast<unsigned long long>(totals.map_segments), static_cast<unsigned long long>(totals.map_reruns),
      static_cast<unsigned long long>(d(work::ipc_messages)), static_cast<unsigned long long>(totals.ipc_rounds),
      static_cast<unsigned long long>(d(work::fetches)));
  std::string by_kind;
  for (std::size_t i = 0; i < static_cast<std::size_t>(fault::count); ++i) {
    by_kind += fmt::format("{}{} {}/{}", i == 0 ? "" : ", ", soak::name_of(static_cast<fault>(i)), totals.survived[i],
                           totals.injected[i]);
  }
  std::printf("  faults injected %llu, survived %llu (survived/injected: %s)\n",
              static_cast<unsigned long long>(totals.faults_injected()),
              static_cast<unsigned long long>(totals.faults_survived()), by_kind.c_str());
  std::printf("  lost work: %llu\n", static_cast<unsigned long long>(totals.lost));
  std::printf(
      "  process pool: submitted %zu = queued %zu + in flight %zu + completed %zu + crashed %zu + cancelled "
      "%zu; %zu workers started\n",
      pool.submitted, pool.queued, pool.in_flight, pool.completed, pool.crashed, pool.cancelled, pool.started);
  auto line = [](const char* name, const series& s, auto show) {
    std::printf("  %s: start %s, baseline %s, max %s, end %s\n", name, show(s.start).c_str(),
                s.baseline >= 0 ? show(s.baseline).c_str() : "-", show(s.max).c_str(), show(s.end).c_str());
  };
  auto count = [](std::int64_t v) { return std::to_string(v); };
  line("RSS", curves.rss, mib);
  line("descriptors", curves.descriptors, count);
  line("memfd descriptors", curves.memfds, count);
  line("Shmem (machine)", curves.shmem, mib);
  line("threads", curves.threads, count);
  line("child processes", curves.processes, count);
  std::printf(
      "  after the load stopped: %zu process(es) left besides the fork server, %lld memfd descriptor(s) "
      "(%lld at launch)\n",
      left.size(), static_cast<long long>(stopped.memfds), static_cast<long long>(launch.memfds));
  if (!passed) {
    std::printf("  FAILED:\n");
    for (const auto& f : failure) std::printf("    %s\n", f.c_str());
  }
  std::fflush(stdout);

  if (!flags.json.empty()) {
    nlohmann::json j;
    j["seconds"] = ran_s;
    j["planned_seconds"] = total_s;
    j["check_every_seconds"] = period_s;
    j["warmup_seconds"] = warmup_s;
    j["checks"] = checks;
    j["passed"] = passed;
    j["failures"] = failure;
    j["stopped_by"] = stop_signal != 0 ? nlohmann::json(stop_signals::name(stop_signal)) : nlohmann::json(nullptr);
    nlohmann::json tasks;
    for (std::size_t i = 0; i < totals.done.size(); ++i) tasks[soak::name_of(static_cast<work>(i))] = totals.done[i];
    j["tasks_done"] = tasks;
    j["map_segments"] = totals.map_segments;
    j["map_segments_run_again"] = totals.map_reruns;
    j["ipc_rounds"] = totals.ipc_rounds;
    j["fetch_retries_beyond_plan"] = totals.extra_retries;
    nlohmann::json faults{{"injected", totals.faults_injected()}, {"survived", totals.faults_survived()}};
    for (std::size_t i = 0; i < totals.injected.size(); ++i) {
      faults["by_kind"][soak::name_of(static_cast<fault>(i))] = {{"injected", totals.injected[i]},
                                                                 {"survived", totals.survived[i]}};
    }
    j["faults"] = faults;
    j["lost_work"] = totals.lost;
    j["process_pool"] = {{"submitted", pool.submitted},    {"queued", pool.queued},   {"in_flight", pool.in_flight},
                         {"completed", pool.completed},    {"crashed", pool.crashed}, {"cancelled", pool.cancelled},
                         {"workers_started", pool.started}};
    j["resources"] = {
        {"rss_bytes", curves.rss.json(limits.rss_bytes)}, {"descriptors", curves.descriptors.json(limits.descriptors)},
        {"memfds", curves.memfds.json(limits.memfds)},    {"shmem_bytes", curves.shmem.json(limits.shmem_bytes)},
        {"threads", curves.threads.json(limits.threads)}, {"processes", curves.processes.json(limits.processes)}};
    j["after_stop"] = {
        {"processes_left", left.size()}, {"memfds", stopped.memfds}, {"memfds_at_launch", launch.memfds}};
    std::ofstream out(flags.json);
    out << j.dump(2) << '\n';
    if (!out) std::fprintf(stderr, "trident soak: cannot write %s\n", flags.json.c_str());
  }
  if (stop_signal != 0) return exit_code::for_signal(stop_signal);
  return passed ? exit_code::ok : exit_code::some_failed;
}

command add_soak_command(CLI::App& app) {
  auto f = std::make_shared<soak_flags>();
  const soak::growth_limits limits;
  auto* cmd = app.add_subcommand(
      "soak",
      "Run a mixed load (coroutines, timers, thread pool, process pool with workers killed, IPC queues, "
      "fetch against a faulty server) for a while, checking results, pool counters and resource growth");
  cmd->add_option("--minutes", f->minutes, "How long to run, in minutes (fractions allowed)")
      ->check(CLI::PositiveNumber)
      ->default_str("");
  cmd->add_option("--seconds", f->seconds, "How long to run, in seconds (instead of --minutes)")
      ->check(CLI::PositiveNumber)
      ->default_str("");
  cmd->add_option("--check-every", f->check_every_s, "Seconds between checks (one more at the end)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--warmup", f->warmup_s,
                  "Seconds of load before the baseline the growth bounds count from (default: a quarter of the run, at "
                  "most 60)")
      ->check(CLI::NonNegativeNumber)
      ->default_str("");
  cmd->add_option("--workers", f->workers, "Worker processes of the process pool")
      ->check(whole_number())
      ->check(CLI::Range(1, 64));
  cmd->add_option("--json", f->json, "Also write the summary as JSON to FILE")->check(report_path());
  cmd->footer(
      fmt::format("Growth bounds over the baseline: {}. Exit 0 when every check passed, 1 when one failed, 128+N when "
                  "stopped by signal N (the summary so far is printed).",
                  soak::describe(limits)));
  return {cmd, [f] { return run_soak(*f); }};
}

}  // namespace trident::cli
