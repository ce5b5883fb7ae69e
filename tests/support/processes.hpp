#pragma once
/// @file
/// Processes for the tests that start programs through the shell (mpirun, the simulated hosts):
/// `run` runs a command with a hard time limit and its output, and `processes_running` finds
/// what of a program is still running anywhere on the machine.
/// Thread safety: no shared state; any thread may call them.

#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

namespace trident::testing {

struct run_result {
  int status = -1;  ///< exit status, or 128 + signal
  std::string output;
  double seconds = 0;
};

/// Runs `command` through the shell under `timeout -k 5 LIMIT`, stdout and stderr together.
inline run_result run(const std::string& command, int limit_seconds = 90) {
  const std::string line = "timeout -k 5 " + std::to_string(limit_seconds) + " " + command + " 2>&1";
  const auto start = std::chrono::steady_clock::now();
  run_result r;
  FILE* pipe = ::popen(line.c_str(), "r");
  if (pipe == nullptr) return r;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) r.output.append(buffer, n);
  const int status = ::pclose(pipe);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

/// The pids whose executable (/proc/PID/exe) is `program`, as this process sees /proc.
inline std::vector<int> processes_running(const std::filesystem::path& program) {
  std::vector<int> found;
  std::error_code ec;
  const auto wanted = std::filesystem::canonical(program, ec);
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code link_ec;
    const auto exe = std::filesystem::read_symlink(entry.path() / "exe", link_ec);
    if (!link_ec && exe == wanted) found.push_back(std::stoi(name));
  }
  return found;
}

}  // namespace trident::testing
