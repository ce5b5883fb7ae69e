#pragma once
/// @file
/// Timeline recording: spans of work (a task on a worker thread in some process, from start to
/// end) kept in per-thread buffers and exported as Chrome trace JSON, which Perfetto
/// (ui.perfetto.dev) and `chrome://tracing` load directly.
///
/// Recording is off until `trace::start()`; while off, a `trace::span` costs one relaxed atomic
/// load. While on, a span costs two clock reads and an append to the calling thread's own buffer
/// (an uncontended lock that only an exporter ever competes for).

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace trident::trace {

/// One finished span. `name` and `category` point to strings with static storage duration
/// (string literals, or names interned by `import_spans`); dynamic labels go in `detail` (for
/// example a task's index or URL).
///
/// A *synchronous* span (`async_id == 0`) is exported as a complete event ("ph":"X") on its
/// thread's lane, so the spans of one thread must nest (a stack). An *asynchronous* span
/// (`async_id != 0`) may overlap others on the same thread — coroutines interleaving on a loop
/// thread, downloads in flight together — and is exported as a "b"/"e" pair with that id, which
/// viewers draw on a track of its own.
struct span_record {
  const char* name = "";
  const char* category = "";
  std::string detail;
  std::uint64_t start_ns = 0;  ///< Nanoseconds since the recorder's epoch (steady clock).
  std::uint64_t end_ns = 0;
  std::uint32_t thread_id = 0;  ///< Kernel thread id (gettid).
  std::uint32_t process_id = 0;
  std::uint64_t async_id = 0;  ///< Nonzero: an asynchronous span (unique within its process).
};

/// Begins recording on every thread. Spans already recorded are kept. Thread safe.
void start() noexcept;

/// Stops recording; spans in progress when this is called are still recorded when they end.
void stop() noexcept;

/// Whether spans are being recorded now.
[[nodiscard]] bool enabled() noexcept;

/// Discards every recorded span, and those imported from other processes (`import_spans`).
/// Thread safe, but spans that end concurrently may survive.
void clear();

/// Names the calling thread in exported timelines (the "thread_name" metadata of Chrome traces).
void set_thread_name(std::string_view name);

/// Names the calling process in exported timelines (the "process_name" metadata). Without it a
/// process is named "trident (pid P)". Thread safe.
void set_process_name(std::string_view name);

/// Nanoseconds on the recorder's clock; the value `span_record::start_ns` uses.
[[nodiscard]] std::uint64_t now_ns() noexcept;

/// Appends a finished span to the calling thread's buffer if recording is on.
/// `name` and `category` must have static storage duration.
void record(const char* name, const char* category, std::uint64_t start_ns, std::uint64_t end_ns,
            std::string detail = {});

/// Appends a finished *asynchronous* span (see `span_record`) to the calling thread's buffer if
/// recording is on: use it for work that overlaps other spans on the same thread (coroutines,
/// transfers in flight together). `name` and `category` must have static storage duration.
void record_async(const char* name, const char* category, std::uint64_t start_ns, std::uint64_t end_ns,
                  std::string detail = {});

/// A copy of every span recorded so far, from all threads, sorted by start time.
[[nodiscard]] std::vector<span_record> snapshot();

/// Writes every span recorded so far (this process's and those imported from others) as Chrome
/// trace JSON: `{"traceEvents":[...]}` with "X" complete events for synchronous spans and
/// "b"/"e" pairs for asynchronous ones, in microseconds, plus a "process_name" metadata event
/// for every process and a "thread_name" one for every thread lane that any event uses.
void write_chrome_json(std::ostream& out);

/// Writes the Chrome trace JSON to `path` as a `trident::atomic_file` (replacing an existing
/// file), so a failure never leaves a half-written trace. Throws std::system_error on I/O failure.
void write_chrome_json_file(const std::string& path);

/// Records the time between its construction and destruction as one span, if recording was on
/// when it was constructed.
///
/// @par Thread safety
/// A span belongs to the thread that created it; create and destroy it on the same thread.
class span {
 public:
  explicit span(const char* name, const char* category = "task") noexcept
      : name_(name), category_(category), start_ns_(enabled() ? now_ns() : 0) {}
  span(const char* name, const char* category, std::string detail)
      : name_(name), category_(category), detail_(std::move(detail)), start_ns_(enabled() ? now_ns() : 0) {}
  span(const span&) = delete;
  span& operator=(const span&) = delete;
  ~span() {
    if (start_ns_ != 0) record(name_, category_, start_ns_, now_ns(), std::move(detail_));
  }

 private:
  const char* name_;
  const char* category_;
  std::string detail_;
  std::uint64_t start_ns_;
};

}  // namespace trident::trace
