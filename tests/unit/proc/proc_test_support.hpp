#pragma once
// Helpers for process-layer tests: processes this process started, zombies among them, /dev/shm.

#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "trident/proc/worker_main.hpp"

namespace trident::proc::testing {

struct child_info {
  int pid;
  char state;
};

/// Whether `pid` is a fork server (the worker starter, see proc/detail/fork_server.hpp): a
/// long-lived helper of the program whose children are the workers. Its workers share its
/// command line; its process name tells it apart.
inline bool is_fork_server(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  return std::getline(in, name) && name == trident::proc::fork_server_process_name;
}

/// The processes whose parent is `parent`, with their state letter.
inline std::vector<child_info> direct_children(int parent) {
  std::vector<child_info> out;
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
    if (ppid == parent) out.push_back({pid, state});
  }
  ::closedir(d);
  return out;
}

/// The workers and other processes this process started, with their state letter ('Z' for a
/// zombie): its children, except fork servers, which stand in for their own children (the
/// workers they forked).
inline std::vector<child_info> children() {
  std::vector<child_info> out;
  for (const auto& c : direct_children(::getpid())) {
    if (c.state != 'Z' && is_fork_server(c.pid)) {
      for (const auto& worker : direct_children(c.pid)) out.push_back(worker);
    } else {
      out.push_back(c);
    }
  }
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
    // Semaphores, and the segments of the private PostgreSQL servers that the scenario tests
    // start meanwhile (ctest runs tests side by side), are not this test's.
    const std::string name = e->d_name;
    if (name.rfind("sem.", 0) != 0 && name.rfind("PostgreSQL.", 0) != 0) out.insert(name);
  }
  ::closedir(d);
  return out;
}

/// The parent of `pid`, or -1 if it is gone.
inline int parent_of(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return -1;
  const auto close = line.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(line.substr(close + 2));
  char state = '?';
  int ppid = -1;
  rest >> state >> ppid;
  return ppid;
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
