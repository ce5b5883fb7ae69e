// The cluster layer across simulated machines: tools/sim_hosts.sh makes a head and three hosts,
// each in its own network and UTS namespace behind a bridge, and mpirun starts the ranks on them
// through a plm_rsh_agent script instead of ssh (docs/cluster.md, "Simulated hosts"). The driver
// (rank 0) runs on the head, ranks 1-3 on hosts h1-h3; they talk TCP between network stacks.
// Each case runs sim_hosts_case.sh, which takes host h2 away mid-map when asked, and checks the
// results, what the driver reported and when, and that no process and no namespace is left.
// Skipped, with the reason, where namespaces cannot be made (not root, no CAP_SYS_ADMIN).

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

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

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

/// Why simulated hosts cannot be made here, or "" when they can (checked once).
const std::string& unavailable_reason() {
  static const std::string reason = [] {
    const auto r = run(std::string(TRIDENT_SIM_HOSTS) + " check", 30);
    if (r.status == 0) return std::string();
    return r.output.empty() ? std::string("tools/sim_hosts.sh check failed") : r.output;
  }();
  return reason;
}

#define SKIP_WITHOUT_SIMULATED_HOSTS()                                                                 \
  do {                                                                                                 \
    if (!unavailable_reason().empty()) GTEST_SKIP() << "no simulated hosts: " << unavailable_reason(); \
  } while (false)

/// Processes running the test program anywhere on this machine.
std::vector<int> program_processes() { return trident::testing::processes_running(TRIDENT_CLUSTER_TEST_APP); }

/// The namespaces of this run (their names carry the id sim_hosts.sh printed) that still exist.
std::string namespaces_left(const std::string& output) {
  // sim_hosts.sh prints "namespaces trident-sim-<id>-{switch,head,h1..h3}"; the run's prefix is
  // "trident-sim-<id>-". (Parsed by hand: g++ 12 warns inside <regex> under ASan, and -Werror.)
  const std::string lead = "namespaces trident-sim-";
  const auto at = output.find(lead);
  if (at == std::string::npos) return "(no id printed)";
  const auto id_begin = at + lead.size();
  const auto id_end = output.find_first_not_of("0123456789", id_begin);
  if (id_end == id_begin || id_end == std::string::npos || output[id_end] != '-') return "(no id printed)";
  const auto prefix_begin = at + std::string("namespaces ").size();
  const std::string prefix = output.substr(prefix_begin, id_end + 1 - prefix_begin);
  const auto list = run("ip netns list", 10).output;
  std::string left;
  for (std::size_t found = list.find(prefix); found != std::string::npos; found = list.find(prefix, found + 1)) {
    left += list.substr(found, list.find('\n', found) - found) + " ";
  }
  return left;
}

/// `fault` (none, link or kill) on host h2 while `program` runs on the head and the 3 hosts;
/// `launch`: more mpirun options. Checks what every case must leave: nothing.
run_result on_hosts(const std::string& fault, const std::string& launch, const std::string& program) {
  std::string options = launch;
#if defined(__SANITIZE_ADDRESS__)
  // No leak check in the ranks: Open MPI's components leave LeakSanitizer nothing to name or
  // suppress (cluster_test.cpp's mpirun_prefix() says more); ASan's access checks stay on.
  options += " -x ASAN_OPTIONS=detect_leaks=0";
#endif
  const auto r = run(std::string(TRIDENT_SIM_HOSTS) + " run -- " + TRIDENT_SIM_HOSTS_CASE + " " + fault + " " +
                     options + " -- " + program);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "sim: processes left: none")) << r.output;
  EXPECT_EQ(namespaces_left(r.output), "") << r.output;
  EXPECT_TRUE(program_processes().empty()) << "processes of the test program are left behind";
  return r;
}

/// The value printed after `label` (a number), or -1.
double number_after(const std::string& output, const std::string& label) {
  const auto at = output.find(label);
  if (at == std::string::npos) return -1;
  try {
    return std::stod(output.substr(at + label.size()));
  } catch (...) {
    return -1;
  }
}

/// The line that starts with `prefix`, or "".
std::string line_with(const std::string& output, const std::string& prefix) {
  const auto at = output.find(prefix);
  return at == std::string::npos ? std::string() : output.substr(at, output.find('\n', at) - at);
}

// The peer timeout sim_hosts_case.sh gives the job (TRIDENT_CLUSTER_TIMEOUT_MS).
constexpr double timeout_s = 2.0;

const std::string app = TRIDENT_CLUSTER_TEST_APP;

TEST(SimHosts, AMapOfTenThousandTasksGivesTheSameResultsAsAlone) {
  SKIP_WITHOUT_SIMULATED_HOSTS();
  const auto alone = run(app + " map_digest 10000");
  ASSERT_EQ(alone.status, 0) << alone.output;
  const std::string digest = line_with(alone.output, "digest: ");
  ASSERT_FALSE(digest.empty()) << alone.output;
  const auto r = on_hosts("none", "", app + " map_digest 10000");
  EXPECT_TRUE(contains(r.output, "driver: cluster, 4 rank(s)")) << r.output;
  EXPECT_EQ(line_with(r.output, "digest: "), digest) << r.output;
  // Each worker rank on its own simulated host, and each did some of the work.
  for (const char* host : {"rank 1 on sim-h1: ", "rank 2 on sim-h2: ", "rank 3 on sim-h3: "}) {
    EXPECT_GT(number_after(r.output, host), 0) << host << "\n" << r.output;
  }
  EXPECT_TRUE(contains(r.output, "done: passed")) << r.output;
  EXPECT_TRUE(contains(r.output, "sim: mpirun exit status 0")) << r.output;
}

#if defined(TRIDENT_CLI_PATH)
TEST(SimHosts, TheDemoGivesTheSameResultsAsAlone) {
  SKIP_WITHOUT_SIMULATED_HOSTS();
  const std::string demo = std::string(TRIDENT_CLI_PATH) + " cluster-demo --numbers 400 --workers 1";
  const auto alone = run(demo);
  ASSERT_EQ(alone.status, 0) << alone.output;
  const auto r = on_hosts("none", "", demo);
  EXPECT_TRUE(contains(r.output, "Cluster: 4 MPI ranks")) << r.output;
  EXPECT_TRUE(contains(r.output, "sim: mpirun exit status 0")) << r.output;
  // The lesson's numbers and the count of primes, line for line as alone.
  for (const char* prefix : {"  104729: ", "  104743: ", "  104801: "}) {
    const auto expected = line_with(alone.output, prefix);
    ASSERT_FALSE(expected.empty()) << alone.output;
    EXPECT_EQ(line_with(r.output, prefix), expected) << r.output;
  }
  const auto primes = alone.output.substr(alone.output.find(" of 400 numbers prime") - 3, 24);
  EXPECT_TRUE(contains(r.output, primes)) << primes << "\n" << r.output;
  for (const char* host : {"on sim-h1", "on sim-h2", "on sim-h3"}) EXPECT_TRUE(contains(r.output, host)) << r.output;
}
#endif

/// What every case that loses host h2 without re-running checks: the driver named rank 2 and
/// its lost tasks within the timeout + 1 s, said the outcome (exit status 1: work was lost), and
/// the map failed with the error naming them.
void expect_lost_and_reported(const run_result& r, const std::string& why) {
  EXPECT_TRUE(contains(r.output, "trident cluster: rank 2 (pid ")) << r.output;
  EXPECT_TRUE(contains(r.output, "on sim-h2) was lost: " + why)) << r.output;
  EXPECT_TRUE(contains(r.output, "task(s) lost: slow_square_25ms")) << r.output;
  const double after = number_after(r.output, "sim: reported after ");
  EXPECT_GE(after, 0) << r.output;
  EXPECT_LE(after, timeout_s + 1.0) << r.output;
  EXPECT_TRUE(contains(r.output, "map: failed: rank 2 lost")) << r.output;
  EXPECT_TRUE(contains(r.output, "trident cluster: outcome: 1 rank(s) lost (rank 2 (pid ")) << r.output;
  EXPECT_TRUE(contains(r.output, "; exit status 1")) << r.output;
  EXPECT_TRUE(contains(r.output, "sim: driver exit status 1")) << r.output;
}

TEST(SimHosts, ACutCableIsReportedWithTheRankAndItsTasksWithinTheTimeout) {
  SKIP_WITHOUT_SIMULATED_HOSTS();
  const auto r = on_hosts("link", "--enable-recovery", app + " lose_host");
  expect_lost_and_reported(r, "no word from it for");
}

TEST(SimHosts, KilledRanksAreReportedWithTheRankAndItsTasksWithinTheTimeout) {
  SKIP_WITHOUT_SIMULATED_HOSTS();
  const auto r = on_hosts("kill", "--enable-recovery", app + " lose_host");
  expect_lost_and_reported(r, "no word from it for");
}

/// With re-runnable tasks, the map completes on the surviving ranks with every result right,
/// and the driver says so, with the exit status (mpirun --enable-recovery reports 0 whatever).
void expect_rerun(const run_result& r) {
  EXPECT_TRUE(contains(r.output, "on sim-h2) was lost: ")) << r.output;
  EXPECT_TRUE(contains(r.output, "re-run on the surviving ranks")) << r.output;
  const double after = number_after(r.output, "sim: reported after ");
  EXPECT_GE(after, 0) << r.output;
  EXPECT_LE(after, timeout_s + 1.0) << r.output;
  EXPECT_TRUE(contains(r.output, "map: complete, 400 results")) << r.output;
  EXPECT_TRUE(contains(r.output, "1 rank(s) lost")) << r.output;
  EXPECT_TRUE(contains(r.output, "done: passed")) << r.output;
  EXPECT_FALSE(contains(r.output, "FAILED")) << r.output;
  EXPECT_TRUE(contains(r.output, ", 0 task(s) lost; exit status 0")) << r.output;
  EXPECT_TRUE(contains(r.output, "sim: driver exit status 0")) << r.output;
  EXPECT_TRUE(contains(r.output, "sim: mpirun exit status 0")) << r.output;
}

TEST(SimHosts, LostTasksRerunOnTheSurvivingRanksAfterACutCable) {
  SKIP_WITHOUT_SIMULATED_HOSTS();
  expect_rerun(on_hosts("link", "--enable-recovery", app + " lose_host rerun"));
}

TEST(SimHosts, LostTasksRerunOnTheSurvivingRanksAfterKilledRanks) {
  SKIP_WITHOUT_SIMULATED_HOSTS();
  expect_rerun(on_hosts("kill", "--enable-recovery", app + " lose_host rerun"));
}

// Plain mpirun (no --enable-recovery) cannot go on without a rank: Open MPI 4.1 ends the job
// whatever the pool's options. A killed remote rank takes the driver down with it before the
// driver hears of it (Open MPI's default error handler aborts every process); a cut host ends
// the job once mpirun loses its daemon, after the driver reported it. Either way the job fails
// in bounded time and leaves nothing behind.
TEST(SimHosts, WithoutRecoveryKilledRanksEndTheJob) {
  SKIP_WITHOUT_SIMULATED_HOSTS();
  const auto r = on_hosts("kill", "", app + " lose_host rerun");
  EXPECT_FALSE(contains(r.output, "sim: mpirun exit status 0")) << r.output;
  EXPECT_TRUE(contains(r.output, "process rank 2 with PID")) << r.output;
  EXPECT_FALSE(contains(r.output, "map: complete")) << r.output;
}

TEST(SimHosts, WithoutRecoveryACutCableIsReportedThenEndsTheJob) {
  SKIP_WITHOUT_SIMULATED_HOSTS();
  const auto r = on_hosts("link", "", app + " lose_host rerun");
  EXPECT_FALSE(contains(r.output, "sim: mpirun exit status 0")) << r.output;
  EXPECT_TRUE(contains(r.output, "on sim-h2) was lost: no word from it for")) << r.output;
  EXPECT_LE(number_after(r.output, "sim: reported after "), timeout_s + 1.0) << r.output;
  EXPECT_FALSE(contains(r.output, "map: complete")) << r.output;
}

}  // namespace
