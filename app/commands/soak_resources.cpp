#include "soak_resources.hpp"

#include <dirent.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace trident::cli::soak {

namespace {

/// The number after `key` in a "Key:   value [kB]" file, times 1024 for kB; -1 if absent.
std::int64_t field_of(const char* path, const std::string& key) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.compare(0, key.size(), key) != 0) continue;
    const std::int64_t value = std::strtoll(line.c_str() + key.size(), nullptr, 10);
    return line.find("kB") != std::string::npos ? value * 1024 : value;
  }
  return -1;
}

/// Counts /proc/self/fd, memfds apart. The directory's own descriptor is left out.
void count_descriptors(resource_sample& s) {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) {
    s.descriptors = s.memfds = -1;
    return;
  }
  const int own = ::dirfd(dir);
  std::int64_t plain = 0;
  std::int64_t memfd = 0;
  while (const dirent* e = ::readdir(dir)) {
    if (!std::isdigit(static_cast<unsigned char>(e->d_name[0]))) continue;
    if (std::atoi(e->d_name) == own) continue;
    char target[256];
    const std::string link = std::string("/proc/self/fd/") + e->d_name;
    const ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
    if (n < 0) continue;  // closed meanwhile
    target[n] = '\0';
    if (std::string_view(target, static_cast<std::size_t>(n)).starts_with("/memfd:")) {
      ++memfd;
    } else {
      ++plain;
    }
  }
  ::closedir(dir);
  s.descriptors = plain;
  s.memfds = memfd;
}

/// The parent of `pid` from /proc/PID/stat, or -1 when it is gone.
pid_t parent_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return -1;
  // "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses, so read after the last ')'.
  const auto close = stat.rfind(')');
  if (close == std::string::npos || close + 4 >= stat.size()) return -1;
  return static_cast<pid_t>(std::strtol(stat.c_str() + close + 4, nullptr, 10));
}

}  // namespace

std::vector<pid_t> descendants(pid_t ancestor) {
  std::vector<pid_t> out;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return out;
  std::multimap<pid_t, pid_t> children;  // parent -> child
  while (const dirent* e = ::readdir(dir)) {
    if (!std::isdigit(static_cast<unsigned char>(e->d_name[0]))) continue;
    const auto pid = static_cast<pid_t>(std::atoi(e->d_name));
    const pid_t ppid = parent_of(pid);
    if (ppid >= 0) children.emplace(ppid, pid);
  }
  ::closedir(dir);
  std::vector<pid_t> todo{ancestor};
  while (!todo.empty()) {
    const pid_t p = todo.back();
    todo.pop_back();
    auto [first, last] = children.equal_range(p);
    for (auto it = first; it != last; ++it) {
      out.push_back(it->second);
      todo.push_back(it->second);
    }
  }
  return out;
}

bool is_fork_server_of(pid_t pid, pid_t owner) {
  if (parent_of(pid) != owner) return false;
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  const std::string cmdline((std::istreambuf_iterator<char>(in)), {});
  return cmdline.find("--trident-worker=fork-server") != std::string::npos;
}

resource_sample sample_resources() {
  resource_sample s;
  s.rss_bytes = field_of("/proc/self/status", "VmRSS:");
  s.threads = field_of("/proc/self/status", "Threads:");
  s.shmem_bytes = field_of("/proc/meminfo", "Shmem:");
  count_descriptors(s);
  if (DIR* proc = ::opendir("/proc")) {
    ::closedir(proc);
    s.processes = static_cast<std::int64_t>(descendants(::getpid()).size());
  } else {
    s.processes = -1;
  }
  return s;
}

}  // namespace trident::cli::soak
