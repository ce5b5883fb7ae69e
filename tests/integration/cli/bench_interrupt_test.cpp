// `trident bench` stopped part-way, as a user stops it: Ctrl-C, SIGTERM, or SIGKILL. The http
// suite makes a folder of 15 MB of files and runs nginx on it; a stopped run must leave neither
// behind (before, Ctrl-C left 400 MB of output in the temporary directory, and SIGKILL left nginx
// serving it).

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "trident/testing/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

#ifdef TRIDENT_CLI_PATH

namespace {

using trident::testing::read_text;
using trident::testing::temp_dir;

bool nginx_installed() {
  return ::access("/usr/sbin/nginx", X_OK) == 0 || std::system("command -v nginx >/dev/null 2>&1") == 0;
}

/// `trident bench http --case files_200x75k --repeat 100` with TMPDIR set to `tmp`, its output
/// in `log`. nginx's workers may run as another user: the folders above the run's must let them
/// through.
pid_t start_bench(const fs::path& tmp, const fs::path& log) {
  fs::permissions(tmp.parent_path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                         fs::perms::others_read | fs::perms::others_exec);
  fs::permissions(tmp, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec | fs::perms::others_read |
                           fs::perms::others_exec);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setenv("TMPDIR", tmp.c_str(), 1);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execl(TRIDENT_CLI_PATH, TRIDENT_CLI_PATH, "bench", "http", "--case", "files_200x75k", "--repeat", "100",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

/// The run's folder under `tmp` other than `except`, once a download round has written into it;
/// empty if the run ended first.
fs::path wait_for_downloads(pid_t run, const fs::path& tmp, const fs::path& except = {}) {
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  while (std::chrono::steady_clock::now() < deadline) {
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(run), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == run)
      return {};
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(tmp, ec)) {
      if (e.path() != except && e.path().filename().string().starts_with("trident-bench-http-") &&
          fs::exists(e.path() / "out", ec)) {
        return e.path();
      }
    }
    std::this_thread::sleep_for(50ms);
  }
  return {};
}

int finish(pid_t pid) { return trident::testing::finish(pid, 60s); }

/// Whether a process whose command line names `folder` still runs (nginx is started with it).
bool process_serves(const fs::path& folder) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    std::ifstream in(e.path() / "cmdline");
    const std::string cmdline((std::istreambuf_iterator<char>(in)), {});
    if (cmdline.find(folder.string()) != std::string::npos) return true;
  }
  return false;
}

bool gone_within(const fs::path& folder, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (process_serves(folder)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

void stop_mid_run(int signal_number) {
  if (!nginx_installed()) GTEST_SKIP() << "nginx is not installed (tools/dev.sh bench-peers)";
  temp_dir tmp{"trident-bench-stop"};
  const fs::path log = tmp.path / "log";
  fs::create_directory(tmp.path / "t");
  const pid_t pid = start_bench(tmp.path / "t", log);
  const fs::path run_folder = wait_for_downloads(pid, tmp.path / "t");
  ASSERT_FALSE(run_folder.empty()) << "the run never started downloading: " << read_text(log);
  ::kill(pid, signal_number);
  EXPECT_EQ(finish(pid), 128 + signal_number);
  EXPECT_TRUE(tmp.names("t").empty()) << "left behind: " << run_folder;
  EXPECT_TRUE(gone_within(run_folder, 5s)) << "a process of the run (nginx?) still runs";
  const std::string text = read_text(log);
  EXPECT_NE(text.find("stopped by SIG"), std::string::npos) << text;
}

TEST(cli_bench, ctrl_c_removes_the_runs_files_and_stops_nginx_exit_130) { stop_mid_run(SIGINT); }

TEST(cli_bench, sigterm_removes_the_runs_files_and_stops_nginx_exit_143) { stop_mid_run(SIGTERM); }

// SIGKILL cannot be caught: nginx must end with the run anyway, and the next run removes the
// killed run's folder.
TEST(cli_bench, after_sigkill_nginx_ends_and_the_next_run_removes_the_folder) {
  if (!nginx_installed()) GTEST_SKIP() << "nginx is not installed (tools/dev.sh bench-peers)";
  temp_dir tmp{"trident-bench-kill"};
  fs::create_directory(tmp.path / "t");
  const pid_t first = start_bench(tmp.path / "t", tmp.path / "log1");
  const fs::path killed_folder = wait_for_downloads(first, tmp.path / "t");
  ASSERT_FALSE(killed_folder.empty()) << "the run never started downloading: " << read_text(tmp.path / "log1");
  ::kill(first, SIGKILL);
  EXPECT_EQ(finish(first), 128 + SIGKILL);
  EXPECT_TRUE(gone_within(killed_folder, 5s)) << "nginx outlived the killed run";
  // A peer program of the killed round finishes on its own; give it the seconds it needs.
  std::this_thread::sleep_for(3s);

  const pid_t second = start_bench(tmp.path / "t", tmp.path / "log2");
  const fs::path second_folder = wait_for_downloads(second, tmp.path / "t", killed_folder);
  ASSERT_FALSE(second_folder.empty()) << "the second run never started downloading: " << read_text(tmp.path / "log2");
  EXPECT_FALSE(fs::exists(killed_folder)) << "the killed run's folder is still there";
  ::kill(second, SIGTERM);
  EXPECT_EQ(finish(second), 128 + SIGTERM);
  EXPECT_TRUE(tmp.names("t").empty());
}

}  // namespace

#endif  // TRIDENT_CLI_PATH
