#pragma once
/// @file
/// `http::fetch_all`: download many URLs into a directory through one session, with a
/// concurrency limit, retries, and no half-written file ever left under a real name. What
/// `trident fetch` runs; usable from any program.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
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
  /// Where to save it, used as given: not sanitised, not numbered, not joined to `output_dir`
  /// (`name` is then unused). For a caller that plans its files itself with more knowledge than
  /// the URLs (`media::plan_inputs` also keeps downloads off local inputs); keeping such paths
  /// safe and distinct is then the caller's part. Empty: `output_dir` / the name as above.
  /// (Initialised here so that `{url, name}` stays a complete initialiser.)
  std::filesystem::path path{};
};

/// Parses one input line: `URL` or `URL<TAB>NAME`. Blank lines and lines starting with `#` give
/// nothing. Surrounding whitespace is ignored. Pure function; thread safe.
[[nodiscard]] std::optional<fetch_item> parse_fetch_line(std::string_view line);

enum class fetch_outcome { ok, skipped, failed, cancelled };

/// What happened to one URL. A plain value.
struct fetch_result {
  std::string url;
  std::filesystem::path path;  ///< Where it was (or would have been) saved.
  fetch_outcome outcome = fetch_outcome::cancelled;
  int status = 0;  ///< HTTP status (0: no response).
  std::uint64_t bytes = 0;
  int attempts = 0;
  double seconds = 0;
  std::string error;       ///< Empty when ok.
  std::string error_kind;  ///< `to_string(error_kind)`, "http_status", "cancelled", or empty.

  [[nodiscard]] bool succeeded() const noexcept {
    return outcome == fetch_outcome::ok || outcome == fetch_outcome::skipped;
  }
  /// One JSON object (no newline): url, status, bytes, path, attempts, seconds, error.
  [[nodiscard]] std::string to_json() const;
};

/// Called by `fetch_all` as each item finishes (see `fetch_options::on_item_done`): the item's
/// index in the input and its final result. The task it returns is awaited before the download
/// place it held is given to another URL.
using fetch_item_hook = std::function<aio::task<void>(std::size_t index, const fetch_result& result)>;

struct fetch_options {
  std::filesystem::path output_dir = ".";
  /// Downloads in flight at once, at most. Fewer when the process cannot open enough file
  /// descriptors for them (each needs a socket and its output file; see `fetch_all`).
  std::size_t concurrency = 32;
  int retries = 2;                                 ///< Extra attempts (see retry_policy).
  std::chrono::milliseconds timeout{0};            ///< Per attempt, whole transfer (0: none).
  std::uint64_t max_size = 0;                      ///< Largest body accepted (0: no limit).
  bool skip_existing = false;                      ///< Leave URLs whose file already exists alone.
  retry_policy retry = retry_policy::attempts(3);  ///< Delays; `max_attempts` comes from `retries`.
  /// Called once for each item that finishes by itself — `ok`, `skipped` or `failed`, as soon as
  /// it does, in completion order — so the caller can use each file at once instead of when all
  /// are done (`media::transcribe_pipeline` hands each download to its decoders this way). Items
  /// cut short or never started by a cancellation are not passed to it: they are in the
  /// returned results as `cancelled`. Empty: none.
  ///
  /// - Thread: the loop thread of `fetch_all`'s caller (also when the session has several loops),
  ///   after the item's result and the `fetch_progress` counters are final for it. `result` stays
  ///   valid, and the hook object with what it captures stays alive, until `fetch_all` returns,
  ///   so the hook may be a coroutine lambda that refers to its captures.
  /// - Blocking: never block the thread (every transfer of that loop would stop). Suspend
  ///   instead: the item keeps its place among the `concurrency` downloads until the returned
  ///   task ends, so a hook waiting for room downstream (`aio::send` to a full channel) holds
  ///   new downloads back: back-pressure.
  /// - Exceptions: a hook that throws, or whose task ends with an exception, stops the run as a
  ///   cancellation would (transfers in flight aborted, their files discarded, nothing more
  ///   started), and `fetch_all` rethrows that exception once every transfer has ended.
  /// - Cancellation: cancelling `fetch_all` while a hook's task is suspended cancels that task
  ///   (its `cancelled_error` ends it; the run then ends as cancelled, results returned). An
  ///   item's result is final before its hook runs; a hook cut short does not change it.
  fetch_item_hook on_item_done;
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

/// The event loops (`session_options::loops`) that `trident fetch` gives its session unless told
/// otherwise: 2 where the machine has at least two hardware threads, else 1. Downloading many
/// files is bound by libcurl's CPU time per transfer, which a second loop spreads over a second
/// core (figures in docs/http.md). A program calling `fetch_all` sets its session's loops itself;
/// this is the measured choice to pass. Thread safe.
[[nodiscard]] int default_fetch_loops() noexcept;

/// The paths the items will be saved to: each name made safe (`sanitize_file_name` or
/// `file_name_for`), collisions suffixed in input order, joined to `dir`. Never outside `dir`,
/// except an item's own `path`, which is used as given; the names of those directly in `dir`
/// are kept free of the derived names.
[[nodiscard]] std::vector<std::filesystem::path> plan_paths(const std::vector<fetch_item>& items,
                                                            const std::filesystem::path& dir);

/// Downloads every item into `options.output_dir` through `s`, at most `options.concurrency`
/// at a time, each through `session::save_to` (an atomic_file, named when complete). A failed
/// URL is reported in its result; the others go on. Results come back in input order, and
/// `options.on_item_done`, when set, is given each item as it finishes (streaming the results).
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
/// every result (unfinished ones as `cancelled`). The cancellation is consumed. A hook's
/// exception is not: see `fetch_options::on_item_done`.
///
/// @par Thread safety
/// Loop thread only (the session's). `progress`, if given, must outlive the run. The hook runs
/// on this same thread.
aio::task<std::vector<fetch_result>> fetch_all(session& s, std::vector<fetch_item> items, fetch_options options,
                                               fetch_progress* progress = nullptr);

}  // namespace trident::http
