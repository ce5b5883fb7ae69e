// `trident fetch`: reads the URL list, runs http::fetch_all on an event loop, shows progress on
// a terminal and prints the summary. Ctrl-C: a signal thread (SIGINT is blocked everywhere
// else) posts a cancel to the loop; fetch_all then aborts the transfers in flight, removes
// their temporaries and returns the results, so the summary is still printed.

#include "fetch_command.hpp"

#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "trident/aio/event_loop.hpp"
#include "trident/aio/run.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/aio/spawn.hpp"
#include "trident/http/fetch.hpp"

namespace trident::cli {

namespace {

std::string human_bytes(double b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) {
    b /= 1000;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} {}", b, units[u]) : fmt::format("{:.1f} {}", b, units[u]);
}

void draw_progress(const http::fetch_progress& p, double seconds) {
  const double rate = seconds > 0 ? static_cast<double>(p.bytes) / seconds : 0;
  const double frac = p.total == 0 ? 1.0 : static_cast<double>(p.done) / static_cast<double>(p.total);
  const int width = 24;
  const int filled = static_cast<int>(frac * width);
  std::string eta = "--";
  if (p.done > 0 && p.done < p.total) {
    eta = fmt::format("{:.0f}s", seconds / static_cast<double>(p.done) * static_cast<double>(p.total - p.done));
  }
  std::fprintf(stderr, "\r\x1b[2K[%s%s] %zu/%zu files  %s  %s/s  ETA %s  failed %zu", std::string(filled, '#').c_str(),
               std::string(width - filled, '.').c_str(), p.done, p.total, human_bytes(static_cast<double>(p.bytes)).c_str(),
               human_bytes(rate).c_str(), eta.c_str(), p.failed);
  std::fflush(stderr);
}

const char* outcome_name(http::fetch_outcome o) {
  switch (o) {
    case http::fetch_outcome::ok: return "ok";
    case http::fetch_outcome::skipped: return "skipped";
    case http::fetch_outcome::failed: return "FAILED";
    case http::fetch_outcome::cancelled: return "cancelled";
  }
  return "?";
}

void print_summary(const std::vector<http::fetch_result>& results, double seconds) {
  std::size_t ok = 0, failed = 0, cancelled = 0, skipped = 0;
  std::uint64_t bytes = 0;
  for (const auto& r : results) {
    bytes += r.bytes;
    switch (r.outcome) {
      case http::fetch_outcome::ok: ++ok; break;
      case http::fetch_outcome::skipped: ++skipped; break;
      case http::fetch_outcome::failed: ++failed; break;
      case http::fetch_outcome::cancelled: ++cancelled; break;
    }
  }
  // Every URL when there are few; otherwise only those that did not succeed.
  const bool all_rows = results.size() <= 30;
  bool header = false;
  for (const auto& r : results) {
    if (!all_rows && r.succeeded()) continue;
    if (!header) {
      std::printf("%-9s %6s %10s %8s  %s\n", "result", "status", "bytes", "seconds", "url -> file / error");
      header = true;
    }
    std::printf("%-9s %6s %10s %8.2f  %s -> %s\n", outcome_name(r.outcome), r.status ? std::to_string(r.status).c_str() : "-",
                human_bytes(static_cast<double>(r.bytes)).c_str(), r.seconds, r.url.c_str(),
                r.succeeded() ? r.path.string().c_str() : r.error.c_str());
  }
  std::printf("%zu URLs: %zu ok, %zu skipped, %zu failed, %zu cancelled; %s in %.2f s (%s/s)\n", results.size(), ok, skipped,
              failed, cancelled, human_bytes(static_cast<double>(bytes)).c_str(), seconds,
              human_bytes(seconds > 0 ? static_cast<double>(bytes) / seconds : 0).c_str());
}

std::vector<http::fetch_item> read_items(const fetch_flags& flags) {
  std::vector<http::fetch_item> items;
  for (const auto& u : flags.urls) {
    if (auto item = http::parse_fetch_line(u)) items.push_back(std::move(*item));
  }
  if (!flags.input.empty()) {
    std::ifstream file;
    std::istream* in = &std::cin;
    if (flags.input != "-") {
      file.open(flags.input);
      if (!file) throw std::runtime_error("cannot read URL list '" + flags.input + "'");
      in = &file;
    }
    for (std::string line; std::getline(*in, line);) {
      if (auto item = http::parse_fetch_line(line)) items.push_back(std::move(*item));
    }
  }
  return items;
}

}  // namespace

int run_fetch(const fetch_flags& flags) {
  auto items = read_items(flags);
  if (items.empty()) {
    std::fprintf(stderr, "trident fetch: no URLs given (arguments, -i FILE or -i -)\n");
    return 2;
  }
  std::error_code ec;
  std::filesystem::create_directories(flags.output_dir, ec);  // if it fails, each URL says why

  http::fetch_options options;
  options.output_dir = flags.output_dir;
  options.concurrency = static_cast<std::size_t>(flags.jobs);
  options.retries = flags.retries;
  options.timeout = std::chrono::milliseconds(static_cast<long long>(flags.timeout_s * 1000));
  options.max_size = flags.max_size;
  options.skip_existing = flags.skip_existing;

  // SIGINT goes to the signal thread only: block it before any other thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGUSR1);  // "stop waiting": sent by this function when done
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const bool live = !flags.json && ::isatty(STDERR_FILENO) != 0;
  std::atomic<bool> interrupted{false};
  const auto started = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(); };

  auto main_task = [&]() -> aio::task<std::vector<http::fetch_result>> {
    auto& loop = aio::event_loop::running();
    http::session_options so;
    so.max_connections = std::max(flags.jobs, 1);
    http::session session(so);
    http::fetch_progress progress;
    auto job = aio::spawn(http::fetch_all(session, std::move(items), options, &progress), "fetch");
    std::thread watcher([&loop, &job, &interrupted, signals] {
      for (;;) {
        int sig = 0;
        if (sigwait(&signals, &sig) != 0 || sig != SIGINT) return;
        interrupted = true;
        loop.post([&job] { job.cancel(); });
      }
    });
    struct stop_watcher {
      std::thread& t;
      ~stop_watcher() {
        pthread_kill(t.native_handle(), SIGUSR1);
        t.join();
      }
    } stop{watcher};
    if (live) {
      auto ticker = [&]() -> aio::task<void> {
        for (;;) {
          draw_progress(progress, elapsed());
          co_await aio::sleep(std::chrono::milliseconds(150));
        }
      };
      auto tick = aio::spawn(ticker(), "progress");
      co_await job.wait();
      tick.cancel();
      co_await tick.wait();
      draw_progress(progress, elapsed());
      std::fputc('\n', stderr);
    }
    co_return co_await job;
  };
  auto results = aio::run(main_task());
  pthread_sigmask(SIG_UNBLOCK, &signals, nullptr);

  if (flags.json) {
    for (const auto& r : results) std::printf("%s\n", r.to_json().c_str());
  } else {
    if (interrupted) std::printf("interrupted: transfers in flight were cancelled and their temporary files removed\n");
    print_summary(results, elapsed());
  }
  std::fflush(stdout);
  if (interrupted) return 130;
  for (const auto& r : results) {
    if (!r.succeeded()) return 1;
  }
  return 0;
}

}  // namespace trident::cli
