// The cluster layer end to end: the test program (cluster_app.cpp) under `mpirun` with 2 to 4
// ranks on this machine, and alone. Each case checks the program's own verdict, its exit status,
// that it ended in bounded time, and that no process of it is left behind.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "processes.hpp"

namespace {

using trident::testing::run;
using trident::testing::run_result;

/// `mpirun` with the flags every launch here needs: more ranks than cores, root in CI, and in
/// AddressSanitizer builds no leak check in the ranks — Open MPI's components allocate at
/// start-up, are unloaded at exit and leave LeakSanitizer nothing to name or suppress; ASan's
/// checks of every access stay on.
std::string mpirun_prefix() {
  std::string command = std::string(TRIDENT_MPIRUN) + " --oversubscribe";
  if (::geteuid() == 0) command += " --allow-run-as-root";
#if defined(__SANITIZE_ADDRESS__)
  command += " -x ASAN_OPTIONS=detect_leaks=0";
#endif
  return command;
}

std::string mpirun(int ranks, const std::string& args, int timeout_ms = 3000) {
  std::string command = mpirun_prefix();
  command += " -x TRIDENT_CLUSTER_TIMEOUT_MS=" + std::to_string(timeout_ms) + " -np " + std::to_string(ranks) + " " +
             TRIDENT_CLUSTER_TEST_APP + " " + args;
  return command;
}

/// Processes running the test program (ranks, and the worker processes they started).
std::vector<int> leftover_processes() { return trident::testing::processes_running(TRIDENT_CLUSTER_TEST_APP); }

/// Waits up to `seconds` for the program's processes to be gone (the kernel reaps a killed
/// process's children a moment after mpirun returns).
bool none_left(double seconds = 5) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (!leftover_processes().empty()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

void expect_passed(const run_result& r) {
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "done: passed")) << r.output;
  EXPECT_FALSE(contains(r.output, "FAILED")) << r.output;
  EXPECT_TRUE(none_left()) << "processes of the test program are left behind";
}

TEST(Cluster, AloneRunsOnALocalProcessPool) {
  const auto r = run(std::string(TRIDENT_CLUSTER_TEST_APP) + " results");
  EXPECT_TRUE(contains(r.output, "driver: alone")) << r.output;
  expect_passed(r);
}

TEST(Cluster, ResultsOnThreeRanks) {
  const auto r = run(mpirun(3, "results"));
  EXPECT_TRUE(contains(r.output, "driver: cluster, 3 rank(s), 4 workers")) << r.output;
  expect_passed(r);
}

TEST(Cluster, ResultsOnTwoRanksWithThreadPools) {
  const auto r = run(mpirun(2, "results threads"));
  EXPECT_TRUE(contains(r.output, "driver: cluster, 2 rank(s), 2 workers")) << r.output;
  expect_passed(r);
}

TEST(Cluster, ExceptionsNameTheTaskAndTheRank) {
  const auto r = run(mpirun(4, "exceptions"));
  EXPECT_TRUE(contains(r.output, "std::invalid_argument: odd input 3 (task 'fails_for_odd' on rank ")) << r.output;
  expect_passed(r);
}

TEST(Cluster, UnevenTasksBalanceAcrossRanks) {
  const auto r = run(mpirun(3, "uneven"));
  expect_passed(r);
}

TEST(Cluster, ACrashingTaskFailsOnlyItsFuture) {
  const auto r = run(mpirun(3, "crash"));
  EXPECT_TRUE(contains(r.output, "SIGSEGV")) << r.output;
  expect_passed(r);
}

TEST(Cluster, AKilledRankEndsTheJobWithTheRankAndItsTasksNamed) {
  const auto r = run(mpirun(3, "kill_rank threads"));
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_LT(r.seconds, 30.0) << r.output;
  EXPECT_TRUE(contains(r.output, "rank 1")) << r.output;
  EXPECT_TRUE(contains(r.output, "kills_its_process")) << r.output;
  EXPECT_TRUE(none_left()) << "processes of the test program are left behind";
}

TEST(Cluster, ASilentRankIsReportedLostAndTheJobFails) {
  const auto r = run(mpirun(3, "silent_rank threads", 2000));
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_LT(r.seconds, 30.0) << r.output;
  EXPECT_TRUE(contains(r.output, "was lost: no word from it for")) << r.output;
  EXPECT_TRUE(contains(r.output, "stops_its_process")) << r.output;
  EXPECT_TRUE(none_left()) << "processes of the test program are left behind";
}

TEST(Cluster, ShutdownLeavesNoProcessBehind) {
  const auto r = run(mpirun(3, "shutdown"));
  expect_passed(r);
  // Every PID the program printed (driver, ranks, the ranks' worker processes) is gone.
  std::size_t pids = 0;
  for (std::size_t at = r.output.find("pid "); at != std::string::npos; at = r.output.find("pid ", at + 1)) {
    const int pid = std::stoi(r.output.substr(at + 4));
    ++pids;
    EXPECT_NE(::kill(pid, 0) == 0 ? 0 : errno, 0) << "process " << pid << " is still running";
  }
  EXPECT_GT(pids, 3u) << r.output;
}

TEST(Cluster, InterruptingTheJobEndsEveryRank) {
  // Ctrl-C on mpirun while the ranks work: every rank and worker process exits.
  // Waits (up to 30 s) until the driver says it started, then interrupts; prints the output.
  const std::string log =
      std::filesystem::temp_directory_path() / ("trident-cluster-" + std::to_string(::getpid()) + ".log");
  const auto r = run("sh -c '" + mpirun(3, "long_run") + " >" + log +
                         " 2>&1 & job=$!; for i in $(seq 300); do grep -q \"driver: cluster\" " + log +
                         " && break; sleep 0.1; done; sleep 0.5; kill -INT $job; wait $job; status=$?; cat " + log +
                         "; rm -f " + log + "; exit $status'",
                     90);
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "driver: cluster")) << r.output;
  EXPECT_FALSE(contains(r.output, "done: passed")) << r.output;
  EXPECT_TRUE(none_left()) << "processes of the test program are left behind";
}

#if defined(TRIDENT_CLI_PATH)
TEST(Cluster, TheDemoPrintsTheWorkOfEachRank) {
  std::string command = mpirun_prefix();
  command += " -np 3 " + std::string(TRIDENT_CLI_PATH) + " cluster-demo --numbers 200 --workers 1";
  const auto r = run(command);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "Cluster: 3 MPI ranks")) << r.output;
  EXPECT_TRUE(contains(r.output, "104729: prime=true")) << r.output;
  EXPECT_TRUE(contains(r.output, "rank 1 (pid ")) << r.output;
  EXPECT_TRUE(contains(r.output, "rank 2 (pid ")) << r.output;
  EXPECT_TRUE(contains(r.output, "of 200 numbers prime")) << r.output;
}

/// The command the demo prints after `intro` (the rest of that line, less its indent).
std::string printed_command(const std::string& output, const std::string& intro) {
  const auto at = output.find(intro);
  if (at == std::string::npos) return {};
  const auto begin = output.find_first_not_of(" \n", at + intro.size());
  return begin == std::string::npos ? std::string() : output.substr(begin, output.find('\n', begin) - begin);
}

// Regression (issue #22, item 11): run alone, the demo said "Try: mpirun -np 3 trident
// cluster-demo", which Open MPI refuses as root and on 2 cores ("not enough slots"). It prints
// the command that works on this machine, and that command does run it on 3 ranks.
TEST(Cluster, TheDemoAloneSaysTheCommandThatRunsItOnRanksHere) {
  const std::string program = std::filesystem::canonical(TRIDENT_CLI_PATH).string();
  const auto alone = run(std::string(TRIDENT_CLI_PATH) + " cluster-demo --numbers 20 --workers 1");
  EXPECT_EQ(alone.status, 0) << alone.output;
  EXPECT_TRUE(contains(alone.output, "Alone (not under mpirun)")) << alone.output;
  const std::string command = printed_command(alone.output, "To run it on 3 MPI ranks of this machine:");
  const std::string expected = std::string("mpirun --oversubscribe") +
                               (::geteuid() == 0 ? " --allow-run-as-root" : "") + " -np 3 " + program + " cluster-demo";
  EXPECT_EQ(command, expected) << alone.output;
  ASSERT_FALSE(command.empty());
  std::string launch = command;
#if defined(__SANITIZE_ADDRESS__)
  launch.insert(launch.find(' '), " -x ASAN_OPTIONS=detect_leaks=0");  // as mpirun_prefix() says why
#endif
  const auto ranks = run(launch + " --numbers 200 --workers 1");
  EXPECT_EQ(ranks.status, 0) << ranks.output;
  EXPECT_TRUE(contains(ranks.output, "Cluster: 3 MPI ranks")) << ranks.output;
}

// `mpirun -np 1` is the same as alone: the demo says so, and what to run instead.
TEST(Cluster, TheDemoOnOneRankSaysTheCommandThatRunsItOnRanks) {
  const auto r = run(mpirun_prefix() + " -np 1 " + TRIDENT_CLI_PATH + " cluster-demo --numbers 20 --workers 1");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "One MPI rank (mpirun -np 1 is the same as alone)")) << r.output;
  EXPECT_TRUE(contains(printed_command(r.output, "To run it on 3 MPI ranks of this machine:"), " -np 3 ")) << r.output;
}
#endif

}  // namespace
