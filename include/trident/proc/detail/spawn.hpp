#pragma once
/// @file
/// The old names of detail/start_process.hpp, for src/proc/start/process.cpp while the work on
/// `process` in flight still uses them. Internal; remove once nothing includes it.

#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "trident/proc/detail/start_process.hpp"

namespace trident::proc::detail {

using spawned_worker = started_worker;

/// `start_worker` under its old name.
inline started_worker spawn_worker(const char* mode, std::size_t memory_limit_bytes, std::span<const int> inherit = {},
                                   const std::vector<std::string>& withheld_environment = {},
                                   std::chrono::milliseconds start_timeout = std::chrono::milliseconds(10000)) {
  return start_worker(mode, memory_limit_bytes, inherit, withheld_environment, start_timeout);
}

}  // namespace trident::proc::detail
