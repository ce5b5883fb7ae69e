// scenario_service: a service runs outside this process's tree, reports lines, and ends when
// released or when its starter dies.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "process_watch.hpp"
#include "rerun_in_child.hpp"
#include "scenario_service.hpp"
#include "trident/advisor/measure.hpp"
#include "trident/testing/temp_dir.hpp"

namespace trident::scenarios {
namespace {

/// Reports "ready", waits until released, then writes args[0] (if given) to say it cleaned up.
void marker_service(proc::queue<std::string> lines, std::vector<std::string> args) {
  report(lines, "ready");
  proc::wait_until_released();
  if (!args.empty()) std::ofstream(args[0]) << "released\n";
}
TRIDENT_TASK(marker_service);

void failing_service(proc::queue<std::string> lines, std::vector<std::string>) {
  report(lines, "error: cannot listen");
}
TRIDENT_TASK(failing_service);

/// Running (a zombie waiting for a reaper that is slow to come counts as gone).
bool alive(int pid) {
  if (::kill(pid, 0) != 0) return false;
  // read(2), not std::ifstream: a /proc file of a process that exits mid-read fails with ESRCH.
  const std::string text = test::read_text("/proc/" + std::to_string(pid) + "/stat");
  const auto paren = text.rfind(')');
  return paren == std::string::npos || paren + 2 >= text.size() || text[paren + 2] != 'Z';
}

bool gone_within(int pid, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!alive(pid)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return !alive(pid);
}

int parent_of(int pid) {
  std::istringstream status(test::read_text("/proc/" + std::to_string(pid) + "/status"));
  std::string key;
  while (status >> key) {
    if (key == "PPid:") {
      int parent = 0;
      status >> parent;
      return parent;
    }
  }
  return -1;
}

TEST(ScenarioService, RunsOutsideThisTreeAndCleansUpWhenReleased) {
  testing::temp_dir dir;
  const std::string marker = (dir.path / "marker").string();
  scenario_service service(&marker_service, {marker});
  EXPECT_EQ(service.read_line(std::chrono::seconds(10)), "ready");
  ASSERT_GT(service.pid(), 0);
  EXPECT_TRUE(alive(service.pid()));
  EXPECT_NE(parent_of(service.pid()), ::getpid());
  // The measured tree is this process alone: the service is not counted.
  EXPECT_EQ(advisor::sample_process_tree().processes, 1);
  EXPECT_TRUE(service.stop());
  std::ifstream in(marker);
  std::string word;
  in >> word;
  EXPECT_EQ(word, "released");
  EXPECT_TRUE(gone_within(service.pid(), std::chrono::seconds(5)));
}

TEST(ScenarioService, AFailingServiceSaysWhy) {
  scenario_service service(&failing_service, {});
  EXPECT_EQ(service.read_line(std::chrono::seconds(10)), "error: cannot listen");
  try {
    (void)service.read_line(std::chrono::seconds(10));
    FAIL() << "read_line after the service ended must throw";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("ended"), std::string::npos) << e.what();
  }
}

// The starter runs in a process of its own (this test again, exec'd), starts the service, writes
// its pid to a file and waits; the test SIGKILLs the starter.
TEST(ScenarioService, EndsWhenItsStarterIsKilled) {
  if (const char* file = std::getenv("TRIDENT_TEST_SERVICE_STARTER")) {
    scenario_service service(&marker_service, {});
    (void)service.read_line(std::chrono::seconds(10));
    std::ofstream(std::string(file) + ".tmp") << service.pid() << '\n';
    std::filesystem::rename(std::string(file) + ".tmp", file);
    std::this_thread::sleep_for(std::chrono::seconds(60));  // killed long before
    return;
  }
  testing::temp_dir dir;
  const std::string file = (dir.path / "pid").string();
  const pid_t starter = trident::testing::start_current_test_in_child("TRIDENT_TEST_SERVICE_STARTER", file);
  ASSERT_GT(starter, 0);
  int service_pid = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (service_pid <= 0 && std::chrono::steady_clock::now() < deadline) {
    std::ifstream(file) >> service_pid;
    if (service_pid <= 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (service_pid <= 0) ::kill(starter, SIGKILL);
  ASSERT_GT(service_pid, 0) << "the starter did not report its service";
  EXPECT_TRUE(alive(service_pid));
  EXPECT_NE(parent_of(service_pid), starter);
  ::kill(starter, SIGKILL);
  int status = 0;
  ::waitpid(starter, &status, 0);
  EXPECT_TRUE(gone_within(service_pid, std::chrono::seconds(10)))
      << "service " << service_pid << " outlived its starter";
}

}  // namespace
}  // namespace trident::scenarios
