#pragma once
// Helpers for process-layer tests: children of this process, zombies among them, /dev/shm.

#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace trident::proc::testing {

struct child_info {
  int pid;
  char state;
};

/// Processes whose parent is this process, with their state letter ('Z' for a zombie).
inline std::vector<child_info> children() {
  std::vector<child_info> out;
  const int self = ::getpid();
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    const int pid = std::atoi(e->d_name);
    if (pid <= 0) continue;
    std::ifstream in(std::string("/proc/") + e->d_name + "/stat");
    std::string line;
    if (!std::getline(in, line)) continue;
    const auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state = '?';
    int ppid = 0;
    rest >> state >> ppid;
    if (ppid == self) out.push_back({pid, state});
  }
  ::closedir(d);
  return out;
}

inline std::size_t zombie_count() {
  std::size_t n = 0;
  for (auto& c : children()) n += c.state == 'Z';
  return n;
}

/// Waits (up to `limit`) until this process has exactly `n` children; returns how many it has.
inline std::size_t wait_for_children(std::size_t n, std::chrono::seconds limit = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    const auto c = children().size();
    if (c == n || std::chrono::steady_clock::now() > deadline) return c;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

/// Entries of /dev/shm, without POSIX semaphores ("sem.*"): other programs on a shared machine
/// (Python's multiprocessing, say) create and remove those at any time, and Trident uses none.
inline std::set<std::string> dev_shm_entries() {
  std::set<std::string> out;
  DIR* d = ::opendir("/dev/shm");
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    if (std::string(e->d_name).rfind("sem.", 0) != 0) out.insert(e->d_name);
  }
  ::closedir(d);
  return out;
}

/// Whether a process with this PID exists (and is not a zombie).
inline bool alive(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return false;
  const auto close = line.rfind(')');
  return close != std::string::npos && line.size() > close + 2 && line[close + 2] != 'Z';
}

}  // namespace trident::proc::testing
