#include "trident/trace/recorder.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <ostream>
#include <sstream>
#include <system_error>

#include <fmt/format.h>

#include "trident/core/atomic_file.hpp"

// Each thread appends to its own buffer; the registry keeps every buffer alive (shared_ptr) after
// its thread exits so that spans of short-lived threads still reach the export. A buffer's mutex
// is taken by its owner on every append and by an exporter only while copying, so appends are
// uncontended in practice.

namespace trident::trace {
namespace {

std::atomic<bool> recording{false};

struct thread_buffer {
  std::mutex mutex;
  std::vector<span_record> spans;
  std::string thread_name;
  std::uint32_t thread_id = 0;
};

struct registry {
  std::mutex mutex;
  std::vector<std::shared_ptr<thread_buffer>> buffers;

  static registry& instance() {
    static registry* r = new registry;  // never destroyed: threads may record during exit
    return *r;
  }
};

/// The calling thread's buffer, registered on first use. At thread exit a buffer that holds no
/// span leaves the registry, so threads that never recorded (pool workers of untraced runs)
/// cost nothing once gone; one with spans stays for the export.
struct buffer_owner {
  std::shared_ptr<thread_buffer> buffer = std::make_shared<thread_buffer>();

  buffer_owner() {
    buffer->thread_id = static_cast<std::uint32_t>(::gettid());
    auto& r = registry::instance();
    std::lock_guard lock(r.mutex);
    r.buffers.push_back(buffer);
  }
  ~buffer_owner() {
    auto& r = registry::instance();
    std::lock_guard lock(r.mutex);
    {
      std::lock_guard buffer_lock(buffer->mutex);
      if (!buffer->spans.empty()) return;
    }
    r.buffers.erase(std::remove(r.buffers.begin(), r.buffers.end(), buffer), r.buffers.end());
  }
};

thread_buffer& this_thread_buffer() {
  thread_local buffer_owner owner;
  return *owner.buffer;
}

const std::chrono::steady_clock::time_point epoch = std::chrono::steady_clock::now();

void write_json_string(std::ostream& out, std::string_view s) {
  out.put('"');
  for (char c : s) {
    switch (c) {
      case '"': out << "\\\""; break;
      case '\\': out << "\\\\"; break;
      case '\n': out << "\\n"; break;
      case '\r': out << "\\r"; break;
      case '\t': out << "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out << fmt::format("\\u{:04x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
        } else {
          out.put(c);
        }
    }
  }
  out.put('"');
}

}  // namespace

void start() noexcept { recording.store(true, std::memory_order_relaxed); }
void stop() noexcept { recording.store(false, std::memory_order_relaxed); }
bool enabled() noexcept { return recording.load(std::memory_order_relaxed); }

std::uint64_t now_ns() noexcept {
  // +1 keeps 0 free to mean "not recording" in trace::span.
  return static_cast<std::uint64_t>(
             std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - epoch)
                 .count()) + 1;
}

void set_thread_name(std::string_view name) {
  auto& b = this_thread_buffer();
  std::lock_guard lock(b.mutex);
  b.thread_name = name;
}

void record(const char* name, const char* category, std::uint64_t start_ns, std::uint64_t end_ns,
            std::string detail) {
  auto& b = this_thread_buffer();
  std::lock_guard lock(b.mutex);
  b.spans.push_back(span_record{name, category, std::move(detail), start_ns, end_ns, b.thread_id,
                                static_cast<std::uint32_t>(::getpid())});
}

void clear() {
  auto& r = registry::instance();
  std::lock_guard lock(r.mutex);
  for (auto& b : r.buffers) {
    std::lock_guard buffer_lock(b->mutex);
    b->spans.clear();
  }
}

std::vector<span_record> snapshot() {
  std::vector<span_record> all;
  auto& r = registry::instance();
  std::lock_guard lock(r.mutex);
  for (auto& b : r.buffers) {
    std::lock_guard buffer_lock(b->mutex);
    all.insert(all.end(), b->spans.begin(), b->spans.end());
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const span_record& a, const span_record& b) { return a.start_ns < b.start_ns; });
  return all;
}

void write_chrome_json(std::ostream& out) {
  const auto pid = static_cast<std::uint32_t>(::getpid());
  std::vector<std::pair<std::uint32_t, std::string>> names;
  {
    auto& r = registry::instance();
    std::lock_guard lock(r.mutex);
    for (auto& b : r.buffers) {
      std::lock_guard buffer_lock(b->mutex);
      if (!b->thread_name.empty()) names.emplace_back(b->thread_id, b->thread_name);
    }
  }
  out << "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n";
  bool first = true;
  auto separator = [&] {
    if (!first) out << ",\n";
    first = false;
  };
  separator();
  out << fmt::format(R"({{"name":"process_name","ph":"M","pid":{},"tid":0,"args":{{"name":"trident"}}}})", pid);
  for (auto& [tid, name] : names) {
    separator();
    out << fmt::format(R"({{"name":"thread_name","ph":"M","pid":{},"tid":{},"args":{{"name":)", pid, tid);
    write_json_string(out, name);
    out << "}}";
  }
  for (const auto& s : snapshot()) {
    separator();
    out << "{\"name\":";
    write_json_string(out, s.name);
    out << ",\"cat\":";
    write_json_string(out, s.category);
    // Chrome traces count in microseconds; keep nanosecond precision as a fraction.
    out << fmt::format(R"(,"ph":"X","ts":{:.3f},"dur":{:.3f},"pid":{},"tid":{})", s.start_ns / 1e3,
                       (s.end_ns - s.start_ns) / 1e3, s.process_id, s.thread_id);
    if (!s.detail.empty()) {
      out << ",\"args\":{\"detail\":";
      write_json_string(out, s.detail);
      out << '}';
    }
    out << '}';
  }
  out << "\n]}\n";
}

void write_chrome_json_file(const std::string& path) {
  // Whole or not at all: a failed export never leaves half a file, and replaces an older trace.
  std::ostringstream text;
  write_chrome_json(text);
  atomic_file::options options;
  options.if_exists = atomic_file::existing::replace;
  atomic_file file(path, options);
  file.write(text.view());
  file.commit();
}

}  // namespace trident::trace
