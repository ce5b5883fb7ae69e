#pragma once
/// @file
/// The processes of this machine that run a given program, for tests that check nothing of
/// theirs is left running (the cluster tests' ranks and workers, in any namespace).
/// Thread safety: reads /proc only; any thread may call it.

#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

namespace trident::testing {

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
