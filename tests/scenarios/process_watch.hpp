#pragma once
// Test helpers for the scenario services: which processes run, bounded waits for processes that
// are not our children to end, and a helper copy of this test program to kill.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "proc_text.hpp"

namespace trident::scenarios::test {

/// The file's content, or what could be read of it (see app/scenarios/proc_text.hpp).
inline std::string read_text(const std::filesystem::path& path) { return read_proc_text(path); }

/// Fields after "pid (comm) " of /proc/PID/stat (state first); empty when there is no such process.
inline std::vector<std::string> stat_fields(int pid) {
  const std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
  const auto paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 > stat.size()) return {};
  std::istringstream in(stat.substr(paren + 2));
  std::vector<std::string> fields;
  for (std::string f; in >> f;) fields.push_back(f);
  return fields;
}

/// Running (a zombie waiting for its reaper counts as gone).
inline bool alive(int pid) {
  const auto fields = stat_fields(pid);
  return !fields.empty() && fields[0] != "Z";
}

/// Live processes whose working directory is `dir`: a PostgreSQL server's postmaster and every
/// process it started (they chdir to the data directory; each leads a session of its own, so
/// their process group does not find them).
inline std::vector<int> processes_in(const std::filesystem::path& dir) {
  std::vector<int> found;
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code link_error;
    const std::string cwd = std::filesystem::read_symlink(it->path() / "cwd", link_error).string();
    if (link_error || (cwd != dir.string() && cwd != dir.string() + " (deleted)")) continue;
    const int pid = std::atoi(name.c_str());
    if (alive(pid)) found.push_back(pid);
  }
  return found;
}

/// Process `pid`'s user id (real), or -1.
inline int uid_of(int pid) {
  std::istringstream status(read_text("/proc/" + std::to_string(pid) + "/status"));
  for (std::string key; status >> key;) {
    if (key == "Uid:") {
      int uid = -1;
      status >> uid;
      return uid;
    }
  }
  return -1;
}

/// Whether `condition` holds within `limit`, checking every 20 ms: for processes that are not our
/// children, whose end no pipe or wait() tells.
template <class Condition>
bool within(std::chrono::milliseconds limit, Condition condition) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

/// This test program started again with `args` (a helper mode), its stdin and stdout piped.
/// Its stdin's write end stays with us, so the helper also ends if the test dies.
class helper_process {
 public:
  explicit helper_process(const std::vector<std::string>& args) {
    int in[2];
    int out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    std::vector<std::string> words{"scenarios-test"};
    words.insert(words.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork");
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::execv("/proc/self/exe", argv.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    stdin_ = in[1];
    stdout_ = out[0];
  }
  helper_process(const helper_process&) = delete;
  helper_process& operator=(const helper_process&) = delete;
  ~helper_process() {
    kill();
    ::close(stdin_);
    ::close(stdout_);
  }

  /// The helper's next line, waiting up to `limit`; empty when it ended or the time ran out.
  std::string read_line(std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      if (const auto nl = buffer_.find('\n'); nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return {};
      pollfd p{stdout_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char chunk[512];
      const ssize_t n = ::read(stdout_, chunk, sizeof chunk);
      if (n <= 0) return {};
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  [[nodiscard]] int pid() const noexcept { return pid_; }

  /// SIGKILLs the helper and reaps it. Idempotent.
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {}
    pid_ = 0;
  }

 private:
  int pid_ = 0;
  int stdin_ = -1;
  int stdout_ = -1;
  std::string buffer_;
};

}  // namespace trident::scenarios::test
