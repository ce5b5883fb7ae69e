// service_process: a service runs outside this process's tree, reports lines, and ends when
// released or when its starter dies.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>

#include "process_watch.hpp"
#include "service_process.hpp"
#include "trident/advisor/measure.hpp"
#include "trident/testing/temp_dir.hpp"

namespace trident::scenarios {
namespace {

/// Reports "ready", waits until released, then writes args[0] (if given) to say it cleaned up.
int marker_service(const std::vector<std::string>& args, const service_context& context) {
  context.report("ready");
  context.wait_until_released();
  if (!args.empty()) std::ofstream(args[0]) << "released\n";
  return 0;
}
TRIDENT_SCENARIO_SERVICE("test-marker", marker_service);

int failing_service(const std::vector<std::string>&, const service_context& context) {
  context.report("error: cannot listen");
  return 3;
}
TRIDENT_SCENARIO_SERVICE("test-failing", failing_service);

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

TEST(ServiceProcess, RunsOutsideThisTreeAndCleansUpWhenReleased) {
  testing::temp_dir dir;
  const std::string marker = (dir.path / "marker").string();
  service_process service("test-marker", {marker});
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

TEST(ServiceProcess, AFailingServiceSaysWhy) {
  service_process service("test-failing", {});
  EXPECT_EQ(service.read_line(std::chrono::seconds(10)), "error: cannot listen");
  try {
    (void)service.read_line(std::chrono::seconds(10));
    FAIL() << "read_line after the service ended must throw";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("ended"), std::string::npos) << e.what();
  }
}

TEST(ServiceProcess, AnUnknownServiceIsAnError) {
  EXPECT_THROW(service_process("no-such-service", {}), std::runtime_error);
}

TEST(ServiceProcess, EndsWhenItsStarterIsKilled) {
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  const pid_t starter = ::fork();
  ASSERT_GE(starter, 0);
  if (starter == 0) {
    ::dup2(out[1], 1);
    ::close(out[0]);
    ::execl("/proc/self/exe", "scenarios-test", "--start-service-and-wait", "test-marker", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  char text[32] = {};
  std::size_t used = 0;
  while (used < sizeof text - 1) {
    const ssize_t n = ::read(out[0], text + used, 1);
    if (n <= 0 || text[used] == '\n') break;
    used += static_cast<std::size_t>(n);
  }
  ::close(out[0]);
  const int service_pid = std::atoi(text);
  ASSERT_GT(service_pid, 0) << "starter printed '" << text << "'";
  EXPECT_TRUE(alive(service_pid));
  ::kill(starter, SIGKILL);
  int status = 0;
  ::waitpid(starter, &status, 0);
  EXPECT_TRUE(gone_within(service_pid, std::chrono::seconds(10))) << "service " << service_pid << " outlived its starter";
}

}  // namespace
}  // namespace trident::scenarios
