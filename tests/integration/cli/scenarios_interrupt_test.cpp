// `trident scenarios` stopped by Ctrl-C, as a user stops it: during a scenario's set-up it says
// the set-up was interrupted and that no model ran; during the models it prints a table marked
// partial that names what ran and what did not, and recommends nothing.

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

#include "child_process.hpp"
#include "trident/testing/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

#ifdef TRIDENT_CLI_PATH

namespace {

using trident::testing::read_text;
using trident::testing::temp_dir;

/// `trident scenarios NAME --size small`, its stdout in `out` and stderr in `err`.
pid_t start_scenarios(const char* name, const fs::path& out, const fs::path& err) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(o, 1);
    ::dup2(e, 2);
    ::execl(TRIDENT_CLI_PATH, TRIDENT_CLI_PATH, "scenarios", name, "--size", "small", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

/// Waits until `file` holds `text`; false if the process ended or two minutes passed first.
bool wait_for_text(pid_t pid, const fs::path& file, const std::string& text) {
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (read_text(file).find(text) != std::string::npos) return true;
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid) {
      return false;
    }
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

int finish(pid_t pid) { return trident::testing::finish(pid, 120s); }

bool postgres_installed() {
  std::error_code ec;
  return fs::is_directory("/usr/lib/postgresql", ec);
}

TEST(cli_scenarios, ctrl_c_during_set_up_says_so_and_runs_no_model) {
  if (!postgres_installed()) GTEST_SKIP() << "PostgreSQL is not installed (tools/dev.sh installs it)";
  temp_dir tmp{"trident-scenarios-stop"};
  const fs::path out = tmp.path / "out";
  const fs::path err = tmp.path / "err";
  const pid_t pid = start_scenarios("db", out, err);
  ASSERT_TRUE(wait_for_text(pid, err, "db: starting a private PostgreSQL server")) << read_text(err);
  ::kill(pid, SIGINT);
  EXPECT_EQ(finish(pid), 130);
  const std::string said = read_text(err);
  EXPECT_NE(said.find("stopping: the set-up in progress ends, then no model runs"), std::string::npos) << said;
  EXPECT_EQ(said.find("stopping after the model in progress"), std::string::npos) << said;
  EXPECT_NE(said.find("db: set-up interrupted: no model ran"), std::string::npos) << said;
  EXPECT_EQ(said.find("running db:"), std::string::npos) << said;
  const std::string table = read_text(out);
  EXPECT_EQ(table.find("recommend"), std::string::npos) << table;
  EXPECT_EQ(table.find("no model produced"), std::string::npos) << table;
}

TEST(cli_scenarios, ctrl_c_during_a_model_prints_a_partial_table_and_no_recommendation) {
  temp_dir tmp{"trident-scenarios-stop"};
  const fs::path out = tmp.path / "out";
  const fs::path err = tmp.path / "err";
  const pid_t pid = start_scenarios("web", out, err);
  ASSERT_TRUE(wait_for_text(pid, err, "running web: sequential")) << read_text(err);
  ::kill(pid, SIGINT);
  EXPECT_EQ(finish(pid), 130);
  const std::string table = read_text(out);
  EXPECT_NE(table.find("INTERRUPTED: partial results"), std::string::npos) << table;
  EXPECT_NE(table.find("no recommendation: the run was interrupted; ran: sequential (1 run); not run: threads_10"),
            std::string::npos)
      << table;
  EXPECT_EQ(table.find("<- recommended"), std::string::npos) << table;
  EXPECT_EQ(table.find("recommended:"), std::string::npos) << table;
  EXPECT_NE(read_text(err).find("stopping after the model in progress"), std::string::npos) << read_text(err);
}

}  // namespace

#endif  // TRIDENT_CLI_PATH
