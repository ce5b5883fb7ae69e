#pragma once
/// @file
/// `http::fetch_all`: download many URLs into a directory through one session, with a
/// concurrency limit, retries, and no half-written file ever left under a real name. What
/// `trident fetch` runs; usable from any program.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "trident/aio/task.hpp"
#include "trident/http/session.hpp"

namespace trident::http {

/// One URL to download; `name` empty means "derive it from the URL" (`file_name_for`).
struct fetch_item {
  std::string url;
  std::string name;
};

/// Parses one input line: `URL` or `URL<TAB>NAME`. Blank lines and lines starting with `#` give
/// nothing. Surrounding whitespace is ignored. Pure function; thread safe.
[[nodiscard]] std::optional<fetch_item> parse_fetch_line(std::string_view line);

struct fetch_options {
  std::filesystem::path output_dir = ".";
  /// Downloads in flight at once, at most. Fewer when the process cannot open enough file
  /// descriptors for them (each needs a socket and its output file; see `fetch_all`).
  std::size_t concurrency = 32;
  int retries = 2;                           ///< Extra attempts (see retry_policy).
  std::chrono::milliseconds timeout{0};      ///< Per attempt, whole transfer (0: none).
  std::uint64_t max_size = 0;                ///< Largest body accepted (0: no limit).
  bool skip_existing = false;                ///< Leave URLs whose file already exists alone.
  retry_policy retry = retry_policy::attempts(3);  ///< Delays; `max_attempts` comes from `retries`.
};

enum class fetch_outcome { ok, skipped, failed, cancelled };

/// What happened to one URL. A plain value.
struct fetch_result {
  std::string url;
  std::filesystem::path path;  ///< Where it was (or would have been) saved.
  fetch_outcome outcome = fetch_outcome::cancelled;
  int status = 0;              ///< HTTP status (0: no response).
  std::uint64_t bytes = 0;
  int attempts = 0;
  double seconds = 0;
  std::string error;           ///< Empty when ok.
  std::string error_kind;      ///< `to_string(error_kind)`, "http_status", "cancelled", or empty.

  [[nodiscard]] bool succeeded() const noexcept {
    return outcome == fetch_outcome::ok || outcome == fetch_outcome::skipped;
  }
  /// One JSON object (no newline): url, status, bytes, path, attempts, seconds, error.
  [[nodiscard]] std::string to_json() const;
};

/// Live counters of a `fetch_all` run, updated on the loop thread (read them from a task on the
/// same loop, e.g. a progress display). A plain value: copy it to keep a snapshot.
///
/// Files: `done` counts every finished item; `failed` and `cancelled` are the parts of it that
/// will say so in their results (a cancelled item is never counted as failed).
///
/// Bytes: `bytes` is everything received, retried attempts included (what a rate is made of).
/// `bytes_done` and `bytes_expected` measure the work: `bytes_done` is the finished files plus
/// the current attempt of each one in flight (a retry starts its item again from 0);
/// `bytes_expected` is the size of every item whose size is known — from Content-Length when
/// its body begins, or from the file once finished. Failed and cancelled items leave both.
/// `unsized` items (not finished, size not yet known) are not in `bytes_expected`.
struct fetch_progress {
  std::size_t total = 0;
  std::size_t done = 0;       ///< Finished, in any way (ok, skipped, failed, cancelled).
  std::size_t failed = 0;     ///< Finished as failed.
  std::size_t cancelled = 0;  ///< Finished as cancelled.
  std::uint64_t bytes = 0;    ///< Body bytes received so far, over all attempts.
  std::uint64_t bytes_done = 0;
  std::uint64_t bytes_expected = 0;
  std::size_t unsized = 0;
};

/// The paths the items will be saved to: each name made safe (`sanitize_file_name` or
/// `file_name_for`), collisions suffixed in input order, joined to `dir`. Never outside `dir`.
[[nodiscard]] std::vector<std::filesystem::path> plan_paths(const std::vector<fetch_item>& items,
                                                            const std::filesystem::path& dir);

/// Downloads every item into `options.output_dir` through `s`, at most `options.concurrency`
/// at a time, each through `session::save_to` (an atomic_file, named when complete). A failed
/// URL is reported in its result; the others go on. Results come back in input order.
///
/// File descriptors: work that could be done is never failed for want of descriptors. The
/// transfers in flight are capped by the descriptors still free under RLIMIT_NOFILE when the run
/// starts (two each, keeping some for the rest of the program), and an attempt that still meets
/// EMFILE or ENFILE (other threads took descriptors meanwhile) waits and starts again instead of
/// failing its URL. Raising the limit itself is the program's decision (`trident fetch` raises
/// its soft limit to the hard one).
///
/// `attempts` of a cancelled result counts the attempts begun, the one cut short included.
///
/// @par Cancellation
/// Cancelling the awaiting task stops the run: transfers in flight are aborted and their
/// unfinished files discarded, URLs not started are not started, and `fetch_all` still returns
/// every result (unfinished ones as `cancelled`). The cancellation is consumed.
///
/// @par Thread safety
/// Loop thread only (the session's). `progress`, if given, must outlive the run.
aio::task<std::vector<fetch_result>> fetch_all(session& s, std::vector<fetch_item> items, fetch_options options,
                                               fetch_progress* progress = nullptr);

}  // namespace trident::http
