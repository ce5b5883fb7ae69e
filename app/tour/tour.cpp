// `trident tour`: runs the lesson's cells from one table, in lesson order, and sums them up.

#include "tour.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "cell.hpp"
#include "program_path.hpp"
#include "text_width.hpp"
#include "trident/trace/recorder.hpp"

extern char** environ;  // the environment, inherited by a cell's tool

namespace trident::lesson {
namespace {

// The whole tour, in lesson order. A new cell (asyncio, processes, HTTP) is one more row here
// and one more source file; `model` says which concurrency model the summary shows for it.
constexpr std::array cells {
  cell_info{1,
            "gil_demo",
            "CPU-bound work: sequential vs two threads (no GIL in C++)",
            "threads",
            "The Global Interpreter Lock",
            &gil_demo},
      cell_info{2,         "threads_downloads", "Four simulated downloads: sequential vs one thread each",
                "threads", "Threading Basics",  &threads_downloads},
      cell_info{3,
                "bank_account",
                "A bank account guarded by a named trident::sync::mutex",
                "threads + mutex",
                "Thread Safety and Locks",
                &bank_account},
      cell_info{4,
                "unsafe_vs_safe_counter",
                "Lost updates without a lock, none with one",
                "threads + lock",
                "Thread Safety and Locks Exercise",
                &unsafe_vs_safe_counter},
      cell_info{5,
                "thread_pool_as_completed",
                "Ten items on a four-worker pool, in completion order",
                "thread pool",
                "ThreadPoolExecutor",
                &thread_pool_as_completed},
      cell_info{6,
                "race_check_then_act",
                "Check-then-act race on a shared list, and its fix",
                "threads + lock",
                "Common Pitfalls: race conditions",
                &race_check_then_act},
      cell_info{7,
                "deadlock",
                "Inverted lock order caught by the lock-order checker, and the fix",
                "threads + mutex",
                "Common Pitfalls: deadlocks",
                &deadlock},
      cell_info{8,
                "producer_consumer",
                "Bounded channel: two producers, three consumers, close to stop",
                "channel",
                "Exercise 3: Producer-Consumer",
                &producer_consumer},
      cell_info{9,
                "priority_pipeline",
                "Priority channel: larger values processed first",
                "priority channel",
                "Exercise 3: PriorityQueue variant",
                &priority_pipeline},
      cell_info{10,        "asyncio_gather",          "Four simulated fetches on one thread with aio::gather",
                "asyncio", "Introduction to Asyncio", &asyncio_gather},
      cell_info{11,
                "run_in_executor",
                "Blocking calls offloaded with aio::run_in keep the loop responsive",
                "asyncio + threads",
                "Choosing the Right Approach: run_in_executor",
                &run_in_executor},
      cell_info{12,
                "async_scraper",
                "Seven URLs, three at a time, one failing; then retries with backoff",
                "asyncio",
                "Exercise 2: Async Web Scraper",
                &async_scraper},
      cell_info{13,
                "hybrid_async_pool",
                "Async fetches pipelined into CPU analysis on a thread pool",
                "asyncio + threads",
                "Bonus: Hybrid Async + Multiprocessing",
                &hybrid_async_pool},
      cell_info{14,
                "pool_map_pids",
                "Pool map over four inputs, each result with its worker's PID",
                "process pool",
                "Multiprocessing",
                &pool_map_pids},
      cell_info{15,
                "process_queue",
                "Producer and consumer processes through a shared-memory queue",
                "process + queue",
                "Process Communication with Queues",
                &process_queue},
      cell_info{16,
                "prime_exercise",
                "Prime checks: sequential vs a process pool, with the speedup",
                "process pool",
                "Exercise 1: Parallel Data Processor",
                &prime_exercise},
      cell_info{17,
                "hybrid_process",
                "Async fetches, each analysed in a worker process as it arrives",
                "asyncio + process",
                "Bonus: Hybrid Async + Multiprocessing",
                &hybrid_process},
      cell_info{18,
                "crash_isolation",
                "A task segfaults on purpose; the pool reports it and finishes the rest",
                "process pool",
                "(beyond the lesson: crash isolation)",
                &crash_isolation},
      cell_info{19,
                "aiohttp_pages",
                "Three pages concurrently through one pooled HTTP session",
                "asyncio + http",
                "Asyncio: downloading pages with aiohttp",
                &aiohttp_pages},
      cell_info{20,
                "streaming_download",
                "Files streamed to disk in 64 KiB chunks with back-pressure",
                "asyncio + http",
                "Media pipeline: async download helpers",
                &streaming_download},
      cell_info{21,
                "http_scraper",
                "Exercise 2 for real: semaphore of 3, a refused URL, retries with backoff",
                "asyncio + http",
                "Exercise 2: Async Web Scraper (with retries)",
                &http_scraper},
#if TRIDENT_LESSON_MEDIA
      cell_info{22,
                "transcribe",
                "Download and transcribe as one pipeline: one model, two states, overlap",
                "pipeline",
                "Media pipeline: download and transcribe with Whisper",
                nullptr,
                "trident-transcribe"},
#endif
      cell_info{23,
                "choosing",
                "Choosing the right approach, measured: four scenarios under every model (small sizes)",
                "all models",
                "Choosing the Right Approach",
                nullptr,
                "trident-scenarios"},
};

struct outcome {
  bool ok = false;
  std::string result;
  double seconds = 0;
};

std::string label(const cell_info& c) { return fmt::format("{:02}_{}", c.number, c.slug); }

/// Runs `tool tour-cell SLUG` with the cell's output on this process's stdout and its result
/// line through a pipe; the cell's outcome is the tool's exit code.
outcome run_in_tool(const cell_info& c, bool quiet, const std::string& trace_path) {
  outcome o;
  const std::string path = app::beside_this_program(c.tool).string();
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
  constexpr int result_fd = 3;
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_adddup2(&actions, fds[1], result_fd);
  std::vector<std::string> words{path, "tour-cell", c.slug, "--result-fd", std::to_string(result_fd)};
  if (quiet) words.emplace_back("--quiet");
  if (!trace_path.empty()) {
    words.emplace_back("--trace");
    words.emplace_back(trace_path);
  }
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  std::fflush(stdout);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, path.c_str(), &actions, nullptr, argv.data(), environ);
  ::posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    o.result = rc == ENOENT ? fmt::format("not installed: {} is not next to this program", c.tool)
                            : fmt::format("error: cannot run {}: {}", path, std::strerror(rc));
    return o;
  }
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
    if (n > 0) {
      o.result.append(buffer, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  while (!o.result.empty() && (o.result.back() == '\n' || o.result.back() == '\r')) o.result.pop_back();
  o.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (o.result.empty()) {
    o.result = WIFSIGNALED(status) ? fmt::format("error: {} was killed by signal {}", c.tool, WTERMSIG(status))
                                   : fmt::format("error: {} exited with code {}", c.tool, WEXITSTATUS(status));
  }
  return o;
}

/// Where a cell run by another executable records its timeline when the tour records one:
/// beside the tour's file, the cell's slug before the extension (tour.html: tour.choosing.html).
std::string cell_trace_path(const std::string& tour_trace, const char* slug) {
  if (tour_trace.empty()) return {};
  const auto slash = tour_trace.find_last_of('/');
  const auto dot = tour_trace.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return tour_trace + "." + slug;
  return tour_trace.substr(0, dot) + "." + slug + tour_trace.substr(dot);
}

/// Runs one cell inside a "lesson" span; a failed check or any exception fails the cell.
outcome run_cell(const cell_info& c, output& out, cell_fn in_process = nullptr, const std::string& tour_trace = {}) {
  outcome o;
  const auto start = std::chrono::steady_clock::now();
  try {
    trace::span span(c.slug, "lesson", label(c));
    cell_fn run = in_process != nullptr ? in_process : c.run;
    if (run == nullptr) {
      o = run_in_tool(c, out.quiet(), cell_trace_path(tour_trace, c.slug));
    } else {
      o.result = run(out);
      o.ok = true;
    }
  } catch (const check_failed& e) {
    o.result = e.what();
  } catch (const std::exception& e) {
    o.result = fmt::format("error: {}", e.what());
  }
  o.seconds = seconds_since(start);
  return o;
}

void print_heading(const cell_info& c) {
  std::printf("\n== %s: %s ==\n   (lesson: \"%s\"; model: %s)\n", label(c).c_str(), c.title, c.python, c.model);
  std::fflush(stdout);
}

void print_outcome(const outcome& o) {
  std::printf("-> %s  [%.2fs, %s]\n", o.result.c_str(), o.seconds, o.ok ? "ok" : "FAILED");
  std::fflush(stdout);
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char ch) { return std::isdigit(ch) != 0; });
}

/// The cell that `name` names: its number ("1", "01"), its slug, or both ("01_gil_demo").
const cell_info* find_cell(std::string_view name) {
  for (const auto& c : cells) {
    if (all_digits(name) && name.size() <= 3 && std::stoi(std::string(name)) == c.number) return &c;
    if (name == c.slug || name == label(c)) return &c;
  }
  return nullptr;
}

std::string valid_names() {
  std::string names;
  for (const auto& c : cells) names += fmt::format("{}{} ({})", names.empty() ? "" : ", ", c.number, c.slug);
  return names;
}

void print_list() {
  std::printf("%-3s %-26s %-17s %s\n", "#", "cell", "model", "what it shows");
  for (const auto& c : cells) std::printf("%-3d %-26s %-17s %s\n", c.number, c.slug, c.model, c.title);
}

}  // namespace

std::span<const cell_info> all_cells() noexcept { return cells; }

int run_tour(const tour_options& options) {
  if (options.list) {
    print_list();
    return 0;
  }

  std::vector<const cell_info*> selected;
  for (const auto& name : options.only) {
    const cell_info* c = find_cell(name);
    if (c == nullptr) {
      std::fprintf(stderr, "trident tour: unknown cell '%s'; valid cells: %s\n", name.c_str(), valid_names().c_str());
      return 2;
    }
    if (std::find(selected.begin(), selected.end(), c) == selected.end()) selected.push_back(c);
  }
  if (selected.empty()) {
    for (const auto& c : cells) selected.push_back(&c);
  }
  std::sort(selected.begin(), selected.end(), [](auto* a, auto* b) { return a->number < b->number; });

  output out(options.quiet ? nullptr : stdout);
  std::vector<outcome> outcomes;
  const auto start = std::chrono::steady_clock::now();
  for (const cell_info* c : selected) {
    if (!options.quiet) print_heading(*c);
    outcomes.push_back(run_cell(*c, out, nullptr, options.trace));
    if (!options.quiet) print_outcome(outcomes.back());
  }
  const double total = seconds_since(start);

  // The summary table; result texts vary in length, so that column is sized to fit. Widths are
  // columns on screen, not bytes: a result may hold "→" (text_width.hpp).
  std::size_t result_width = 6;
  for (const auto& o : outcomes) result_width = std::max(result_width, display_width(o.result));
  const std::string rule(3 + 3 + 26 + 3 + 17 + 3 + result_width + 3 + 7 + 3 + 6, '-');
  std::printf("\n%s\n", rule.c_str());
  std::printf("%-3s | %-26s | %-17s | %s | %7s | %s\n", "#", "cell", "model",
              pad_to_width("result", result_width).c_str(), "time", "status");
  std::printf("%s\n", rule.c_str());
  std::size_t failed = 0;
  for (std::size_t i = 0; i < selected.size(); ++i) {
    const auto& c = *selected[i];
    const auto& o = outcomes[i];
    if (!o.ok) ++failed;
    std::printf("%02d  | %s | %s | %s | %6.2fs | %s\n", c.number, pad_to_width(c.slug, 26).c_str(),
                pad_to_width(c.model, 17).c_str(), pad_to_width(o.result, result_width).c_str(), o.seconds,
                o.ok ? "ok" : "FAILED");
  }
  std::printf("%s\n", rule.c_str());
  std::printf("%zu cell(s) in %.2fs: %zu ok, %zu failed\n", selected.size(), total, selected.size() - failed, failed);
  std::fflush(stdout);
  return failed == 0 ? 0 : 1;
}

int run_single(std::string_view slug, cell_fn in_process) {
  const cell_info* c = find_cell(slug);
  if (c == nullptr) {
    std::fprintf(stderr, "no lesson cell '%.*s'; valid cells: %s\n", static_cast<int>(slug.size()), slug.data(),
                 valid_names().c_str());
    return 2;
  }
  print_heading(*c);
  output out(stdout);
  const outcome o = run_cell(*c, out, in_process);
  print_outcome(o);
  return o.ok ? 0 : 1;
}

int run_cell_for_tour(std::string_view slug, cell_fn run, bool quiet, int result_fd) {
  output out(quiet ? nullptr : stdout);
  bool ok = false;
  std::string result;
  try {
    if (run == nullptr) throw std::invalid_argument(fmt::format("no cell '{}' in this program", slug));
    result = run(out);
    ok = true;
  } catch (const check_failed& e) {
    result = e.what();
  } catch (const std::exception& e) {
    result = fmt::format("error: {}", e.what());
  }
  result.push_back('\n');
  for (std::size_t written = 0; written < result.size();) {
    const ssize_t n = ::write(result_fd, result.data() + written, result.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    written += static_cast<std::size_t>(n);
  }
  return ok ? 0 : 1;
}

}  // namespace trident::lesson
