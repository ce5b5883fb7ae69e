#pragma once
/// @file
/// What every lesson cell shares: its entry in the cell table, where it prints, and how it
/// reports a failed check. Private to app/tour; `trident tour` only sees tour.hpp.

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace trident::lesson {

/// Where a cell prints. Each `line()` is written whole, so lines from several threads never
/// interleave mid-line. A quiet output (no sink) formats nothing.
///
/// Thread safety: `line()` may be called from any thread.
class output {
 public:
  explicit output(std::FILE* sink) noexcept : sink_(sink) {}
  output(const output&) = delete;
  output& operator=(const output&) = delete;

  [[nodiscard]] bool quiet() const noexcept { return sink_ == nullptr; }

  template <class... Args>
  void line(fmt::format_string<Args...> format, Args&&... args) {
    if (sink_ == nullptr) return;
    std::string text = fmt::format(format, std::forward<Args>(args)...);
    text.push_back('\n');
    // A plain std::mutex: printing must not show up in the lock-order graph of cell 07.
    std::lock_guard lock(mutex_);
    std::fputs(text.c_str(), sink_);
    std::fflush(sink_);
  }

 private:
  std::FILE* sink_;
  std::mutex mutex_;
};

/// Thrown by a cell whose result is wrong; the message is the cell's one-line result.
class check_failed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Fails the cell with `message` unless `ok`.
inline void check(bool ok, const std::string& message) {
  if (!ok) throw check_failed(message);
}

/// A cell runs, prints to `out`, and returns its one-line result (or throws on failure).
using cell_fn = std::string (*)(output& out);

/// One row of the cell table. Later cells (asyncio, processes, HTTP) are added as rows with
/// their own `model`; nothing else in the tour knows about individual cells.
struct cell_info {
  int number;          ///< Position in the lesson (the tour runs cells in this order).
  const char* slug;    ///< Short name: `trident tour gil_demo`, `lesson_01_gil_demo`.
  const char* title;   ///< One line: what the cell shows.
  const char* model;   ///< Concurrency model: "threads", "thread pool", "channel", ...
  const char* python;  ///< The lesson's cell it ports.
  cell_fn run;         ///< Runs the cell in this process; null for a cell of another executable.
  /// The product's executable that runs the cell (`TOOL tour-cell SLUG`), for the cells whose
  /// libraries `trident` does not map (media: FFmpeg and whisper.cpp; choosing: libvips and
  /// libpq); null for a cell run in this process.
  const char* tool = nullptr;
};

/// Every cell, in lesson order.
[[nodiscard]] std::span<const cell_info> all_cells() noexcept;

/// Runs one cell as a standalone program: heading, output, result line. Returns an exit code.
/// `in_process`, when given, runs the cell in this process even if the table names a tool for
/// it (the lesson programs of the heavy cells link their cell).
int run_single(std::string_view slug, cell_fn in_process = nullptr);

/// `TOOL tour-cell SLUG`: runs the cell `run` for a tour in another process, its output on
/// stdout (none when `quiet`) and its one-line result written to the file descriptor
/// `result_fd`. Returns the exit code: 0 when the cell succeeded, 1 when it failed.
int run_cell_for_tour(std::string_view slug, cell_fn run, bool quiet, int result_fd);

/// Seconds elapsed since `start` on the steady clock.
[[nodiscard]] inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The cells (one source file each, NN_<slug>.cpp).
std::string gil_demo(output& out);
std::string threads_downloads(output& out);
std::string bank_account(output& out);
std::string unsafe_vs_safe_counter(output& out);
std::string thread_pool_as_completed(output& out);
std::string race_check_then_act(output& out);
std::string deadlock(output& out);
std::string producer_consumer(output& out);
std::string priority_pipeline(output& out);
std::string asyncio_gather(output& out);
std::string run_in_executor(output& out);
std::string async_scraper(output& out);
std::string hybrid_async_pool(output& out);
std::string pool_map_pids(output& out);
std::string process_queue(output& out);
std::string prime_exercise(output& out);
std::string hybrid_process(output& out);
std::string crash_isolation(output& out);
std::string aiohttp_pages(output& out);
std::string streaming_download(output& out);
std::string http_scraper(output& out);
// Run by their own executables (cell_info::tool): linked there, not into the tour's library.
std::string transcribe(output& out);  // trident-transcribe (trident_lesson_media_cell)
std::string choosing(output& out);    // trident-scenarios (trident_lesson_choosing_cell)

}  // namespace trident::lesson
