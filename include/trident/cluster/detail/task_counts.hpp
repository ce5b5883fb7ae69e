#pragma once
/// @file
/// Lists of task names as the cluster layer's messages print them. Internal.

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

namespace trident::cluster::detail {

/// `names` (one entry per task) counted per name, in name order, for a message: a lost rank
/// usually held many tasks of one name, which read better as "process_number ×8" than as the
/// name eight times. A name held once stands alone: "kills_its_process, sleepy_pid ×2". Empty
/// for no names. Pure function; thread safe.
[[nodiscard]] inline std::string count_task_names(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  std::string list;
  for (std::size_t first = 0, next = 0; first < names.size(); first = next) {
    while (next < names.size() && names[next] == names[first]) ++next;
    list += (list.empty() ? "" : ", ") + names[first];
    if (next - first > 1) list += " ×" + std::to_string(next - first);
  }
  return list;
}

}  // namespace trident::cluster::detail
