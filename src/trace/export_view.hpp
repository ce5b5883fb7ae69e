#pragma once
// What every export of the timeline (Chrome trace JSON, the HTML page) shows: the spans of this
// process and those imported from worker processes, with a name for every process and every
// thread lane that a span lands on. Private to the trace layer.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "trident/trace/recorder.hpp"

namespace trident::trace::detail {

struct export_view {
  using lane_key = std::pair<std::uint32_t, std::uint32_t>;  ///< (pid, tid)

  std::uint32_t own_pid = 0;       ///< The exporting process.
  std::vector<span_record> spans;  ///< Sorted by start time.
  /// Every process that has a span, plus this one: the name given by `set_process_name` (here
  /// or in the worker), else "trident (pid P)" for this process and "process P" for others.
  std::map<std::uint32_t, std::string> process_names;
  /// Every lane that has a span, plus named threads of this process: the name given by
  /// `set_thread_name`, else "main thread" (tid == pid) or "thread <tid>".
  std::map<lane_key, std::string> thread_names;
};

/// Takes a consistent copy of what is recorded now. Thread safe.
[[nodiscard]] export_view collect_export_view();

}  // namespace trident::trace::detail
