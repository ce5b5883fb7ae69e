#pragma once
// Runs tools/check_trace.py (the Chrome trace format checker) on a trace file from a test.

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace trident::testing {

struct trace_check {
  int exit_status = -1;  ///< 0: the trace keeps every rule; 1: it breaks one (see `problems`).
  std::string problems;  ///< The checker's output: one line per problem.
};

/// Checks the trace at `path` (which must not contain a single quote).
inline trace_check check_trace_file(const std::string& path) {
  const std::string command =
      std::string("'") + TRIDENT_PYTHON + "' '" + TRIDENT_TRACE_CHECKER + "' '" + path + "' 2>&1";
  trace_check result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer{};
  while (const std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe))
    result.problems.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace trident::testing
