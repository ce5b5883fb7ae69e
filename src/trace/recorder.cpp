#include "trident/trace/recorder.hpp"

#include "trident/trace/process_spans.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <ostream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>

#include "trident/core/atomic_file.hpp"
#include "trident/core/json_string.hpp"
#include "export_view.hpp"

// Each thread appends to its own buffer; the registry keeps every buffer alive (shared_ptr) after
// its thread exits so that spans of short-lived threads still reach the export. A buffer's mutex
// is taken by its owner on every append and by an exporter only while copying, so appends are
// uncontended in practice.

namespace trident::trace {
namespace {

std::atomic<bool> recording{false};
std::atomic<std::uint64_t> next_async_id{1};

struct thread_buffer {
  std::mutex mutex;
  std::vector<span_record> spans;
  std::string thread_name;
  std::uint32_t thread_id = 0;
};

struct registry {
  std::mutex mutex;
  std::vector<std::shared_ptr<thread_buffer>> buffers;
  // Guarded by `mutex` as well: this process's name, and what other processes sent.
  std::string process_name;
  std::vector<span_record> imported;
  std::map<std::uint32_t, std::string> imported_process_names;
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::string> imported_thread_names;
  std::set<std::string, std::less<>> interned;  // names of imported spans (node-stable storage)

  const char* intern(std::string_view s) { return interned.emplace(s).first->c_str(); }

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

void write_json_string(std::ostream& out, std::string_view s) { out << json_string(s); }

}  // namespace

void start() noexcept { recording.store(true, std::memory_order_relaxed); }
void stop() noexcept { recording.store(false, std::memory_order_relaxed); }
bool enabled() noexcept { return recording.load(std::memory_order_relaxed); }

std::uint64_t now_ns() noexcept {
  // +1 keeps 0 free to mean "not recording" in trace::span.
  return static_cast<std::uint64_t>(
             std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - epoch).count()) +
         1;
}

void set_thread_name(std::string_view name) {
  auto& b = this_thread_buffer();
  std::lock_guard lock(b.mutex);
  b.thread_name = name;
}

void record(const char* name, const char* category, std::uint64_t start_ns, std::uint64_t end_ns, std::string detail) {
  auto& b = this_thread_buffer();
  std::lock_guard lock(b.mutex);
  b.spans.push_back(span_record{name, category, std::move(detail), start_ns, end_ns, b.thread_id,
                                static_cast<std::uint32_t>(::getpid())});
}

void record_async(const char* name, const char* category, std::uint64_t start_ns, std::uint64_t end_ns,
                  std::string detail) {
  const std::uint64_t id = next_async_id.fetch_add(1, std::memory_order_relaxed);
  auto& b = this_thread_buffer();
  std::lock_guard lock(b.mutex);
  b.spans.push_back(span_record{name, category, std::move(detail), start_ns, end_ns, b.thread_id,
                                static_cast<std::uint32_t>(::getpid()), id});
}

void set_process_name(std::string_view name) {
  auto& r = registry::instance();
  std::lock_guard lock(r.mutex);
  r.process_name = name;
}

void clear() {
  auto& r = registry::instance();
  std::lock_guard lock(r.mutex);
  r.imported.clear();
  r.imported_process_names.clear();
  r.imported_thread_names.clear();
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
  all.insert(all.end(), r.imported.begin(), r.imported.end());
  std::stable_sort(all.begin(), all.end(),
                   [](const span_record& a, const span_record& b) { return a.start_ns < b.start_ns; });
  return all;
}

namespace detail {

export_view collect_export_view() {
  export_view view;
  view.own_pid = static_cast<std::uint32_t>(::getpid());
  const auto pid = view.own_pid;
  {
    auto& r = registry::instance();
    std::lock_guard lock(r.mutex);
    view.process_names = r.imported_process_names;
    view.process_names[pid] = r.process_name.empty() ? fmt::format("trident (pid {})", pid) : r.process_name;
    view.thread_names = r.imported_thread_names;
    for (auto& b : r.buffers) {
      std::lock_guard buffer_lock(b->mutex);
      if (!b->thread_name.empty()) view.thread_names[{pid, b->thread_id}] = b->thread_name;
    }
  }
  view.spans = snapshot();
  // Every lane an event lands on gets a name, and every process one too: viewers show unnamed
  // lanes as bare numbers, which says nothing about which thread did the work.
  for (const auto& s : view.spans) {
    if (!view.process_names.contains(s.process_id)) {
      view.process_names[s.process_id] = fmt::format("process {}", s.process_id);
    }
    auto& name = view.thread_names[{s.process_id, s.thread_id}];
    if (name.empty()) {
      name = s.thread_id == s.process_id ? std::string("main thread") : fmt::format("thread {}", s.thread_id);
    }
  }
  return view;
}

}  // namespace detail

void write_chrome_json(std::ostream& out) {
  auto view = detail::collect_export_view();
  const auto& spans = view.spans;
  const auto& process_names = view.process_names;
  const auto& thread_names = view.thread_names;
  out << "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n";
  bool first = true;
  auto separator = [&] {
    if (!first) out << ",\n";
    first = false;
  };
  for (auto& [process, name] : process_names) {
    separator();
    out << fmt::format(R"({{"name":"process_name","ph":"M","pid":{},"tid":0,"args":{{"name":)", process);
    write_json_string(out, name);
    out << "}}";
  }
  for (auto& [where, name] : thread_names) {
    separator();
    out << fmt::format(R"({{"name":"thread_name","ph":"M","pid":{},"tid":{},"args":{{"name":)", where.first,
                       where.second);
    write_json_string(out, name);
    out << "}}";
  }
  auto event = [&](const span_record& s, const char* phase, std::uint64_t at_ns) {
    separator();
    out << "{\"name\":";
    write_json_string(out, s.name);
    out << ",\"cat\":";
    write_json_string(out, s.category);
    // Chrome traces count in microseconds; keep nanosecond precision as a fraction.
    out << fmt::format(R"(,"ph":"{}","ts":{:.3f},"pid":{},"tid":{})", phase, at_ns / 1e3, s.process_id, s.thread_id);
    if (phase[0] == 'X') out << fmt::format(R"(,"dur":{:.3f})", (s.end_ns - s.start_ns) / 1e3);
    if (s.async_id != 0) out << fmt::format(R"(,"id":"0x{:x}")", s.async_id);
    if (!s.detail.empty() && phase[0] != 'e') {
      out << ",\"args\":{\"detail\":";
      write_json_string(out, s.detail);
      out << '}';
    }
    out << '}';
  };
  for (const auto& s : spans) {
    if (s.async_id == 0) {
      event(s, "X", s.start_ns);
    } else {
      event(s, "b", s.start_ns);
      event(s, "e", s.end_ns);
    }
  }
  out << "\n]}\n";
}

// ---- spans across processes ----

namespace {

constexpr std::uint32_t pack_magic = 0x31535254;  // "TRS1"

/// Nanoseconds of the steady clock's own epoch (CLOCK_MONOTONIC, shared by every process) at
/// which this recorder's clock reads 1.
std::uint64_t epoch_absolute_ns() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(epoch.time_since_epoch()).count());
}

template <class T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}
void put_string(std::string& out, std::string_view s) {
  put(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}

struct unpacker {
  std::string_view in;
  template <class T>
  T get() {
    if (in.size() < sizeof(T)) throw std::invalid_argument("trace::import_spans: truncated pack");
    T v;
    std::memcpy(&v, in.data(), sizeof v);
    in.remove_prefix(sizeof v);
    return v;
  }
  std::string_view get_string() {
    const auto n = get<std::uint32_t>();
    if (in.size() < n) throw std::invalid_argument("trace::import_spans: truncated pack");
    auto s = in.substr(0, n);
    in.remove_prefix(n);
    return s;
  }
};

/// Appends one pack: a process's name, its threads' names and its spans (times made absolute).
void put_pack(std::string& out, std::uint32_t pid, std::string_view process_name,
              const std::vector<std::pair<std::uint32_t, std::string>>& names, const std::vector<span_record>& spans) {
  const std::uint64_t base = epoch_absolute_ns();
  put(out, pack_magic);
  put(out, pid);
  put_string(out, process_name);
  put(out, static_cast<std::uint32_t>(names.size()));
  for (const auto& [tid, name] : names) {
    put(out, tid);
    put_string(out, name);
  }
  put(out, static_cast<std::uint32_t>(spans.size()));
  for (const auto& s : spans) {
    put(out, s.thread_id);
    put(out, s.start_ns - 1 + base);
    put(out, s.end_ns - 1 + base);
    put(out, s.async_id);
    put_string(out, s.name);
    put_string(out, s.category);
    put_string(out, s.detail);
  }
}

/// One pack read by `import_spans`, its strings still in the bytes it came from.
struct parsed_pack {
  struct parsed_span {
    span_record record;
    std::string_view name, category;
  };
  std::uint32_t pid = 0;
  std::string_view process_name;
  std::vector<std::pair<std::uint32_t, std::string_view>> names;
  std::vector<parsed_span> spans;
};

parsed_pack parse_pack(unpacker& in) {
  parsed_pack pack;
  if (in.get<std::uint32_t>() != pack_magic) throw std::invalid_argument("trace::import_spans: not a span pack");
  pack.pid = in.get<std::uint32_t>();
  pack.process_name = in.get_string();
  // Counts are checked against the bytes left (each entry takes at least its fixed part), so a
  // corrupt count cannot ask for a huge allocation.
  auto checked_count = [&](std::size_t entry_size) {
    const auto n = in.get<std::uint32_t>();
    if (n > in.in.size() / entry_size) throw std::invalid_argument("trace::import_spans: truncated pack");
    return n;
  };
  pack.names.resize(checked_count(8));
  for (auto& [tid, name] : pack.names) {
    tid = in.get<std::uint32_t>();
    name = in.get_string();
  }
  const auto count = checked_count(40);
  const std::uint64_t base = epoch_absolute_ns();
  // Onto this recorder's clock; a span from before our epoch (impossible for a child we
  // started) is clamped to it rather than wrapping around.
  auto local = [&](std::uint64_t absolute) { return absolute > base ? absolute - base + 1 : 1; };
  pack.spans.resize(count);
  for (auto& p : pack.spans) {
    p.record.process_id = pack.pid;
    p.record.thread_id = in.get<std::uint32_t>();
    p.record.start_ns = local(in.get<std::uint64_t>());
    p.record.end_ns = local(in.get<std::uint64_t>());
    p.record.async_id = in.get<std::uint64_t>();
    p.name = in.get_string();
    p.category = in.get_string();
    p.record.detail = in.get_string();
  }
  return pack;
}

}  // namespace

std::string take_spans_for_parent() {
  const auto pid = static_cast<std::uint32_t>(::getpid());
  std::vector<span_record> spans;
  std::vector<std::pair<std::uint32_t, std::string>> names;
  std::string process_name;
  // What this process imported from its own children goes on up too, a pack per process, so
  // that a timeline shows every generation of processes (a pool started inside a worker).
  std::map<std::uint32_t, std::vector<span_record>> imported;
  std::map<std::uint32_t, std::vector<std::pair<std::uint32_t, std::string>>> imported_names;
  std::map<std::uint32_t, std::string> imported_process_names;
  {
    auto& r = registry::instance();
    std::lock_guard lock(r.mutex);
    process_name = r.process_name;
    for (auto& b : r.buffers) {
      std::lock_guard buffer_lock(b->mutex);
      if (!b->thread_name.empty()) names.emplace_back(b->thread_id, b->thread_name);
      std::move(b->spans.begin(), b->spans.end(), std::back_inserter(spans));
      b->spans.clear();
    }
    for (auto& span : r.imported) imported[span.process_id].push_back(std::move(span));
    r.imported.clear();
    for (const auto& [child, spans_of_child] : imported) {
      for (const auto& [key, name] : r.imported_thread_names) {
        if (key.first == child) imported_names[child].emplace_back(key.second, name);
      }
      if (auto it = r.imported_process_names.find(child); it != r.imported_process_names.end()) {
        imported_process_names[child] = it->second;
      }
    }
  }
  std::string out;
  if (!spans.empty()) put_pack(out, pid, process_name, names, spans);
  for (const auto& [child, spans_of_child] : imported) {
    put_pack(out, child, imported_process_names[child], imported_names[child], spans_of_child);
  }
  return out;
}

void import_spans(std::string_view packed) {
  if (packed.empty()) return;
  unpacker in{packed};
  // Parsed whole before anything is added: a bad pack adds nothing.
  std::vector<parsed_pack> packs;
  while (!in.in.empty()) packs.push_back(parse_pack(in));
  auto& r = registry::instance();
  std::lock_guard lock(r.mutex);
  for (auto& pack : packs) {
    if (!pack.process_name.empty()) r.imported_process_names[pack.pid] = pack.process_name;
    for (auto& [tid, name] : pack.names) r.imported_thread_names[{pack.pid, tid}] = name;
    for (auto& p : pack.spans) {
      p.record.name = r.intern(p.name);
      p.record.category = r.intern(p.category);
      r.imported.push_back(std::move(p.record));
    }
  }
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
