#include "trident/trace/html_timeline.hpp"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <map>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "export_view.hpp"
#include "timeline_page.hpp"
#include "trident/core/atomic_file.hpp"
#include "trident/core/json_string.hpp"

// The page (src/trace/timeline_page.html) carries the trace as JSON in a
// <script type="application/json"> element, in a compact form the page's script expands:
//
//   {"version":1, "writer_pid":P, "origin_ns":N,
//    "processes":[{"pid":P,"name":"..."}...],                  writer first, then by pid
//    "lanes":[{"pid":P,"tid":T,"name":"..."}...],              by process, main thread first
//    "strings":["name","category","detail"...],                every text once
//    "spans":[lane,start,duration,name,category,detail,async, ...]}   7 numbers a span
//
// Times are nanoseconds since the earliest span (`origin_ns` on the recorder's clock); `detail`
// is -1 for none; `async` is 1 for an asynchronous span. Seven numbers a span instead of an
// object keeps a trace of 100,000 spans to a few megabytes and quick to parse.

namespace trident::trace {
namespace {

/// Appends `s` as a JSON string that is also safe inside the page's <script> element: neither
/// `</script>` nor `<!--` can appear in the embedded data.
void append_script_json_string(std::string& out, std::string_view s) {
  append_json_string(out, s, json_escaping::html_script);
}

/// Each distinct text once; spans refer to it by index.
class string_table {
 public:
  int index(std::string_view s) {
    auto [it, added] = indices_.try_emplace(std::string(s), static_cast<int>(texts_.size()));
    if (added) texts_.push_back(&it->first);
    return it->second;
  }
  void append_json(std::string& out) const {
    out.push_back('[');
    for (std::size_t i = 0; i < texts_.size(); ++i) {
      if (i != 0) out.push_back(',');
      append_script_json_string(out, *texts_[i]);
    }
    out.push_back(']');
  }

 private:
  std::unordered_map<std::string, int> indices_;  // node-based: the keys' addresses are stable
  std::vector<const std::string*> texts_;
};

std::string timeline_json(const detail::export_view& view) {
  using lane_key = detail::export_view::lane_key;
  // Lanes in display order: the writing process first, then the others by pid; in a process its
  // main thread first, then by thread id (the order the threads were started in, mostly).
  auto process_rank = [&](std::uint32_t pid) { return std::pair{pid != view.own_pid, pid}; };
  auto lane_before = [&](const lane_key& a, const lane_key& b) {
    if (a.first != b.first) return process_rank(a.first) < process_rank(b.first);
    return std::pair{a.second != a.first, a.second} < std::pair{b.second != b.first, b.second};
  };
  std::vector<lane_key> lanes;
  for (const auto& s : view.spans) lanes.emplace_back(s.process_id, s.thread_id);
  std::sort(lanes.begin(), lanes.end(), lane_before);
  lanes.erase(std::unique(lanes.begin(), lanes.end()), lanes.end());
  std::map<lane_key, std::size_t> lane_index;
  for (std::size_t i = 0; i < lanes.size(); ++i) lane_index[lanes[i]] = i;

  const std::uint64_t origin = view.spans.empty() ? 0 : view.spans.front().start_ns;  // sorted by start
  std::string out;
  out.reserve(256 + view.spans.size() * 40);
  fmt::format_to(std::back_inserter(out), R"({{"version":1,"writer_pid":{},"origin_ns":{},"processes":[)", view.own_pid,
                 origin);
  std::uint32_t previous_pid = 0;
  bool first = true;
  for (const auto& [pid, tid] : lanes) {
    if (!first && pid == previous_pid) continue;
    if (!first) out.push_back(',');
    first = false;
    previous_pid = pid;
    fmt::format_to(std::back_inserter(out), R"({{"pid":{},"name":)", pid);
    append_script_json_string(out, view.process_names.at(pid));
    out.push_back('}');
  }
  out += R"(],"lanes":[)";
  for (std::size_t i = 0; i < lanes.size(); ++i) {
    if (i != 0) out.push_back(',');
    fmt::format_to(std::back_inserter(out), R"({{"pid":{},"tid":{},"name":)", lanes[i].first, lanes[i].second);
    append_script_json_string(out, view.thread_names.at(lanes[i]));
    out.push_back('}');
  }
  string_table strings;
  std::string spans;
  spans.reserve(view.spans.size() * 32);
  for (const auto& s : view.spans) {
    const std::uint64_t start = s.start_ns - origin;
    const std::uint64_t duration = s.end_ns > s.start_ns ? s.end_ns - s.start_ns : 0;
    const int detail = s.detail.empty() ? -1 : strings.index(s.detail);
    if (!spans.empty()) spans.push_back(',');
    fmt::format_to(std::back_inserter(spans), "{},{},{},{},{},{},{}", lane_index.at({s.process_id, s.thread_id}), start,
                   duration, strings.index(s.name), strings.index(s.category), detail, s.async_id != 0 ? 1 : 0);
  }
  out += R"(],"strings":)";
  strings.append_json(out);
  out += R"(,"spans":[)";
  out += spans;
  out += "]}";
  return out;
}

}  // namespace

void write_html_timeline(std::ostream& out) {
  const auto view = detail::collect_export_view();
  const std::string data = timeline_json(view);
  const std::string_view page = detail::timeline_page();
  const auto marker = page.find(detail::timeline_data_marker);
  if (marker == std::string_view::npos) {
    throw std::logic_error("trace::write_html_timeline: the embedded page has no place for the trace");
  }
  out << page.substr(0, marker) << data << page.substr(marker + detail::timeline_data_marker.size());
}

void write_html_timeline_file(const std::string& path) {
  // Whole or not at all, like write_chrome_json_file.
  std::ostringstream text;
  write_html_timeline(text);
  atomic_file::options options;
  options.if_exists = atomic_file::existing::replace;
  atomic_file file(path, options);
  file.write(text.view());
  file.commit();
}

}  // namespace trident::trace
