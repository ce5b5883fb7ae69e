// advisor::measure: wall and CPU time of a run, and the process tree's peak memory, threads and
// processes, sampled from /proc by a thread of its own.

#include "trident/advisor/measure.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "trident/proc/worker_main.hpp"
#include "trident/proc/worker_usage.hpp"

namespace trident::advisor {
namespace {

double seconds_of(const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; }

double cpu_now() {
  rusage self{};
  rusage children{};
  ::getrusage(RUSAGE_SELF, &self);
  ::getrusage(RUSAGE_CHILDREN, &children);
  // Workers reaped by a fork server count in no RUSAGE_CHILDREN of ours while it runs.
  const proc::worker_cpu_time workers = proc::forked_workers_cpu_time();
  return seconds_of(self.ru_utime) + seconds_of(self.ru_stime) + seconds_of(children.ru_utime) +
         seconds_of(children.ru_stime) + workers.user_seconds + workers.system_seconds;
}

/// Fields of /proc/PID/status: memory the process owns (kB), threads, parent pid. False if the
/// process is gone.
struct status_fields {
  /// Anonymous and shared-memory pages (RssAnon + RssShmem): what the process allocated. File
  /// pages (RssFile: the program's and libraries' code, shared with the page cache and with every
  /// other process running the binary) are left out: a worker faults in 15–20 MB of them while
  /// it exits, which made a process model's peak swing by tens of MB between identical runs.
  /// VmRSS on a kernel older than 4.5, which lacks the split.
  std::uint64_t owned_kb = 0;
  int threads = 0;
  pid_t parent = 0;
};

bool read_status(pid_t pid, status_fields& out) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/status", static_cast<int>(pid));
  std::FILE* file = std::fopen(path, "re");
  if (file == nullptr) return false;
  char line[256];
  std::uint64_t rss = 0, anon = 0, shmem = 0;
  bool split = false;
  while (std::fgets(line, sizeof line, file) != nullptr) {
    if (std::strncmp(line, "VmRSS:", 6) == 0) {
      rss = std::strtoull(line + 6, nullptr, 10);
    } else if (std::strncmp(line, "RssAnon:", 8) == 0) {
      anon = std::strtoull(line + 8, nullptr, 10);
      split = true;
    } else if (std::strncmp(line, "RssShmem:", 9) == 0) {
      shmem = std::strtoull(line + 9, nullptr, 10);
    } else if (std::strncmp(line, "Threads:", 8) == 0) {
      out.threads = std::atoi(line + 8);
    } else if (std::strncmp(line, "PPid:", 5) == 0) {
      out.parent = static_cast<pid_t>(std::atoi(line + 5));
    }
  }
  std::fclose(file);
  out.owned_kb = split ? anon + shmem : rss;
  return true;
}

/// The children of every thread of `pid`, from /proc/PID/task/TID/children (Linux 3.5+ with
/// CONFIG_PROC_CHILDREN). False when the kernel does not provide those files.
bool children_of(pid_t pid, std::vector<pid_t>& out) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/task", static_cast<int>(pid));
  DIR* tasks = ::opendir(path);
  if (tasks == nullptr) return true;  // gone: no children
  bool supported = true;
  while (const dirent* entry = ::readdir(tasks)) {
    if (entry->d_name[0] == '.') continue;
    char children_path[320];
    std::snprintf(children_path, sizeof children_path, "/proc/%d/task/%s/children", static_cast<int>(pid),
                  entry->d_name);
    std::FILE* file = std::fopen(children_path, "re");
    if (file == nullptr) {
      if (errno == ENOENT) supported = false;
      continue;
    }
    long child = 0;
    while (std::fscanf(file, "%ld", &child) == 1) out.push_back(static_cast<pid_t>(child));
    std::fclose(file);
  }
  ::closedir(tasks);
  return supported;
}

/// Every process's parent, by a full pass over /proc: the fallback when children files are missing.
std::unordered_map<pid_t, std::vector<pid_t>> all_children() {
  std::unordered_map<pid_t, std::vector<pid_t>> children;
  if (DIR* proc = ::opendir("/proc"); proc != nullptr) {
    while (const dirent* entry = ::readdir(proc)) {
      char* end = nullptr;
      const long pid = std::strtol(entry->d_name, &end, 10);
      if (end == entry->d_name || *end != '\0' || pid <= 0) continue;
      status_fields f;
      if (read_status(static_cast<pid_t>(pid), f)) children[f.parent].push_back(static_cast<pid_t>(pid));
    }
    ::closedir(proc);
  }
  return children;
}

/// Whether `pid` runs the fork server's code: named as one (once started), or re-executed with
/// its marker and not a child of a fork server (its workers share its command line, but are its
/// children). The marker check covers the ~40 ms between the exec and the name, when the starting
/// server holds a whole fresh copy of the binary's pages; counted, it added tens of MB to
/// whichever model started a pool, at random.
bool is_fork_server(pid_t pid, bool parent_is_fork_server) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/comm", static_cast<int>(pid));
  if (std::FILE* file = std::fopen(path, "re"); file != nullptr) {
    char name[32] = {};
    const bool read = std::fgets(name, sizeof name, file) != nullptr;
    std::fclose(file);
    name[std::strcspn(name, "\n")] = '\0';
    if (read && std::string_view(name) == proc::fork_server_process_name) return true;
  }
  if (parent_is_fork_server) return false;
  std::snprintf(path, sizeof path, "/proc/%d/cmdline", static_cast<int>(pid));
  std::FILE* file = std::fopen(path, "re");
  if (file == nullptr) return false;
  char command[256] = {};
  const std::size_t got = std::fread(command, 1, sizeof command - 1, file);
  std::fclose(file);
  const std::size_t first = ::strnlen(command, got);  // argv[0] ends at the first NUL
  if (first + 1 >= got) return false;
  return std::string_view(command + first + 1) == proc::fork_server_marker;
}

}  // namespace

tree_sample sample_process_tree() {
  tree_sample sample;
  // Each process to visit, with whether its parent is a fork server.
  std::vector<std::pair<pid_t, bool>> pending{{::getpid(), false}};
  std::unordered_map<pid_t, std::vector<pid_t>> fallback;
  bool use_fallback = false;
  while (!pending.empty()) {
    const auto [pid, parent_is_fork_server] = pending.back();
    pending.pop_back();
    status_fields f;
    if (!read_status(pid, f)) continue;
    // A fork server counts through its workers only: it is the program's idle worker starter,
    // started once by whichever run needed workers first, and its resident pages are mostly
    // the binary's shared libraries, already counted in this process.
    const bool fork_server = pid != ::getpid() && is_fork_server(pid, parent_is_fork_server);
    if (!fork_server) {
      sample.resident_bytes += f.owned_kb * 1024;
      sample.threads += f.threads;
      sample.processes += 1;
    }
    std::vector<pid_t> kids;
    if (!use_fallback && !children_of(pid, kids)) {
      use_fallback = true;
      fallback = all_children();
    }
    if (use_fallback) {
      if (auto it = fallback.find(pid); it != fallback.end()) kids = it->second;
    }
    for (const pid_t kid : kids) pending.emplace_back(kid, fork_server);
  }
  return sample;
}

usage measure(const std::function<void()>& body, const measure_options& options) {
  usage result;
  result.memory_source = "proc";
  std::mutex mutex;
  std::condition_variable wake;
  bool done = false;
  tree_sample peak;
  auto take = [&peak] {
    const tree_sample now = sample_process_tree();
    peak.resident_bytes = std::max(peak.resident_bytes, now.resident_bytes);
    peak.threads = std::max(peak.threads, now.threads);
    peak.processes = std::max(peak.processes, now.processes);
  };
  const auto period = std::chrono::milliseconds(std::max<std::uint32_t>(1, options.sample_period_ms));
  std::thread sampler([&] {
    std::unique_lock lock(mutex);
    while (!done) {
      lock.unlock();
      take();
      lock.lock();
      wake.wait_for(lock, period, [&] { return done; });
    }
  });
  const double cpu_start = cpu_now();
  const auto wall_start = std::chrono::steady_clock::now();
  std::exception_ptr failure;
  try {
    body();
  } catch (...) {
    failure = std::current_exception();
  }
  const auto wall_end = std::chrono::steady_clock::now();
  const double cpu_end = cpu_now();
  {
    std::lock_guard lock(mutex);
    done = true;
  }
  wake.notify_all();
  sampler.join();
  if (failure) std::rethrow_exception(failure);

  result.wall_seconds = std::chrono::duration<double>(wall_end - wall_start).count();
  result.cpu_seconds = std::max(0.0, cpu_end - cpu_start);
  // The sampler's own thread was alive at every sample; it is not part of the work.
  result.peak_threads = std::max(1, peak.threads - 1);
  result.peak_processes = std::max(1, peak.processes);
  result.peak_bytes = peak.resident_bytes;
  return result;
}

}  // namespace trident::advisor
