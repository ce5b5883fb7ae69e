// `trident soak` run as a user runs it: a short run passes every check with its faults injected
// and survived and no work lost, and SIGTERM stops it with the summary so far and nothing left
// running. (The one-minute run CI makes is the ctest soak.one_minute, app/commands/CMakeLists.txt;
// the growth bounds themselves are tested with fed samples in tests/unit/cli/soak_bounds_test.cpp.)

#include <fcntl.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "soak_resources.hpp"
#include "trident/testing/temp_dir.hpp"

using namespace std::chrono_literals;

#ifdef TRIDENT_CLI_PATH

namespace {

using trident::testing::read_text;
using trident::testing::temp_dir;

/// Sanitizer runtimes keep freed memory on purpose (ASan's quarantine holds up to 256 MiB), so a
/// bound on RSS growth says nothing about the program under them.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool under_sanitizer = true;
#else
constexpr bool under_sanitizer = false;
#endif

/// Starts `trident soak ARGS...` with stdout and stderr into `log`.
pid_t start_soak(const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> argv{TRIDENT_CLI_PATH, "soak"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> raw;
  for (auto& a : argv) raw.push_back(a.data());
  raw.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execv(raw[0], raw.data());
    ::_exit(127);
  }
  return pid;
}

/// This process adopts the orphans of its children (a subreaper), so that a process the soak
/// leaves behind is found among this test's descendants once the soak has exited.
void adopt_orphans() { ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0); }

/// The descendants of this process still alive once the soak ended, after its fork server and
/// workers had up to 10 s to end (adopted ones that ended are reaped here).
std::vector<pid_t> left_behind() {
  std::vector<pid_t> alive;
  for (const auto deadline = std::chrono::steady_clock::now() + 10s;;) {
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {}
    alive = trident::cli::soak::descendants(::getpid());
    if (alive.empty() || std::chrono::steady_clock::now() > deadline) return alive;
    std::this_thread::sleep_for(50ms);
  }
}

}  // namespace

TEST(cli_soak, a_short_run_survives_its_faults_and_loses_nothing) {
  if (under_sanitizer) GTEST_SKIP() << "RSS growth bounds mean nothing under a sanitizer's allocator";
  adopt_orphans();
  temp_dir dir{"trident-soak-test"};
  const std::string log = (dir.path / "log").string();
  const std::string json = (dir.path / "summary.json").string();
  // --minutes in fractions, as a user may give it: 0.25 min = 15 s, a check every 5 s.
  const pid_t pid = start_soak({"--minutes", "0.25", "--check-every", "5", "--warmup", "4", "--json", json}, log);
  const int rc = trident::testing::finish(pid, 120s);
  const std::string text = read_text(log);
  ASSERT_EQ(rc, 0) << text;
  EXPECT_NE(text.find("check 3 ok"), std::string::npos) << text;
  EXPECT_NE(text.find("lost work: 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("all passed"), std::string::npos) << text;

  const auto j = nlohmann::json::parse(read_text(json));
  EXPECT_TRUE(j["passed"].get<bool>()) << j.dump(2);
  EXPECT_GE(j["checks"].get<int>(), 3);
  EXPECT_TRUE(j["failures"].empty()) << j.dump(2);
  EXPECT_EQ(j["lost_work"].get<std::uint64_t>(), 0u);
  const auto injected = j["faults"]["injected"].get<std::uint64_t>();
  EXPECT_GT(injected, 0u);
  EXPECT_EQ(j["faults"]["survived"].get<std::uint64_t>(), injected);
  // Every kind of fault was injected at least once in 15 s, and each was survived.
  for (const auto& [kind, counts] : j["faults"]["by_kind"].items()) {
    EXPECT_GT(counts["injected"].get<std::uint64_t>(), 0u) << kind;
    EXPECT_EQ(counts["survived"], counts["injected"]) << kind;
  }
  for (const auto& [kind, done] : j["tasks_done"].items()) EXPECT_GT(done.get<std::uint64_t>(), 0u) << kind;
  // The pool's buckets add up, and only the faults crashed tasks.
  const auto& pool = j["process_pool"];
  EXPECT_EQ(pool["submitted"].get<std::uint64_t>(),
            pool["queued"].get<std::uint64_t>() + pool["in_flight"].get<std::uint64_t>() +
                pool["completed"].get<std::uint64_t>() + pool["crashed"].get<std::uint64_t>() +
                pool["cancelled"].get<std::uint64_t>());
  EXPECT_GE(pool["crashed"].get<std::uint64_t>(),
            j["faults"]["by_kind"]["task_segfault"]["survived"].get<std::uint64_t>() +
                j["faults"]["by_kind"]["task_timeout"]["survived"].get<std::uint64_t>());
  // Resources: a baseline was taken, and what the load held is gone once it stopped.
  EXPECT_GE(j["resources"]["rss_bytes"]["baseline"].get<std::int64_t>(), 0);
  EXPECT_GE(j["resources"]["descriptors"]["max"].get<std::int64_t>(),
            j["resources"]["descriptors"]["start"].get<std::int64_t>());
  EXPECT_EQ(j["after_stop"]["processes_left"].get<int>(), 0);
  EXPECT_EQ(j["after_stop"]["memfds"], j["after_stop"]["memfds_at_launch"]);
  EXPECT_TRUE(left_behind().empty());
}

TEST(cli_soak, sigterm_stops_it_with_the_summary_and_nothing_left_running) {
  adopt_orphans();
  temp_dir dir{"trident-soak-test"};
  const std::string log = (dir.path / "log").string();
  const std::string json = (dir.path / "summary.json").string();
  const pid_t pid = start_soak({"--seconds", "120", "--check-every", "2", "--json", json}, log);
  // Stopped once the load is under way: after the first check line.
  for (const auto deadline = std::chrono::steady_clock::now() + 60s;
       read_text(log).find("check 1 ") == std::string::npos && std::chrono::steady_clock::now() < deadline;) {
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_NE(read_text(log).find("check 1 "), std::string::npos) << read_text(log);
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  const int rc = trident::testing::finish(pid, 60s);
  const std::string text = read_text(log);
  EXPECT_EQ(rc, 128 + SIGTERM) << text;
  EXPECT_NE(text.find("interrupted by SIGTERM"), std::string::npos) << text;
  EXPECT_NE(text.find("soak summary:"), std::string::npos) << text;
  EXPECT_NE(text.find("lost work: 0\n"), std::string::npos) << text;
  const auto j = nlohmann::json::parse(read_text(json));
  EXPECT_EQ(j["stopped_by"], "SIGTERM");
  EXPECT_EQ(j["lost_work"].get<std::uint64_t>(), 0u);
  EXPECT_EQ(j["after_stop"]["processes_left"].get<int>(), 0);
  EXPECT_EQ(j["after_stop"]["memfds"], j["after_stop"]["memfds_at_launch"]);
  // No worker, fork server or IPC process outlives the soak.
  const auto left = left_behind();
  EXPECT_TRUE(left.empty()) << left.size() << " process(es) left, the first PID " << (left.empty() ? 0 : left[0]);
}

#endif  // TRIDENT_CLI_PATH
