// A detached proc::process: runs a registered task outside the starter's process tree, in a
// session of its own, and ends when the starter releases it or dies — even by SIGKILL.

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "proc_test_support.hpp"
#include "rerun_in_child.hpp"
#include "trident/proc/errors.hpp"
#include "trident/proc/process.hpp"
#include "trident/proc/queue.hpp"
#include "trident/testing/temp_dir.hpp"

namespace {

namespace proc = trident::proc;
namespace pt = trident::proc::testing;
using namespace std::chrono_literals;

/// Tells who it is (pid, parent, session), waits until released, then says so and returns.
void reports_and_waits(proc::queue<long> out) {
  out.send(::getpid());
  out.send(::getppid());
  out.send(::getsid(0));
  out.send(proc::release_descriptor() >= 0 ? 1 : 0);
  proc::wait_until_released();
  out.send(-1);
}
TRIDENT_TASK(reports_and_waits);

void returns_at_once(int) {}
TRIDENT_TASK(returns_at_once);

void throws_at_once(int) { throw std::runtime_error("on purpose"); }
TRIDENT_TASK(throws_at_once);

/// A pidfd on `pid`, which need not be our child (-1 if it is gone already).
int pidfd_of(int pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

/// Whether the process behind `pidfd` ends within `limit` (polled, so no long sleep).
bool ends_within(int pidfd, std::chrono::milliseconds limit) {
  pollfd p{pidfd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(limit.count())) == 1;
}

/// Whether `ancestor` is among `pid`'s ancestors.
bool descends_from(int pid, int ancestor) {
  for (int p = pt::parent_of(pid); p > 0; p = pt::parent_of(p)) {
    if (p == ancestor) return true;
  }
  return false;
}

long next(proc::queue<long>& q) {
  auto r = q.receive_for(10s);
  if (!r) throw std::runtime_error("the detached process said nothing within 10 s");
  return *r;
}

TEST(detached_process, runs_a_registered_task_outside_the_starters_tree_and_session) {
  const auto shm_before = pt::dev_shm_entries();
  {
    proc::queue<long> q(8);
    proc::process p(reports_and_waits, q);
    p.start(proc::start_mode::detached);
    EXPECT_TRUE(p.detached());
    ASSERT_GT(p.pid(), 0);
    EXPECT_EQ(next(q), p.pid());
    const long parent = next(q);
    EXPECT_NE(parent, ::getpid());
    EXPECT_FALSE(descends_from(p.pid(), ::getpid())) << "the detached process is in the starter's tree";
    EXPECT_EQ(next(q), p.pid()) << "the detached process leads a session of its own";
    EXPECT_NE(::getsid(0), p.pid());
    EXPECT_EQ(next(q), 1) << "no release descriptor in the detached task";
    // Not our child, nor a fork server's: nothing of it in this process's tree.
    EXPECT_EQ(pt::children().size(), 0u);
    EXPECT_TRUE(p.is_alive());
    EXPECT_FALSE(p.exitcode().has_value());
    EXPECT_FALSE(p.join(50ms));
    p.release();
    EXPECT_EQ(next(q), -1) << "the task did not see its release";
    ASSERT_TRUE(p.join(10s));
    EXPECT_EQ(p.exitcode(), 0);
    EXPECT_FALSE(p.is_alive());
  }
  EXPECT_EQ(proc::release_descriptor(), -1) << "only a detached task has one";
  EXPECT_EQ(pt::children().size(), 0u);
  EXPECT_EQ(pt::dev_shm_entries(), shm_before);
}

TEST(detached_process, exit_codes_say_returned_threw_or_unknown) {
  proc::process ok(returns_at_once, 1);
  ok.start(proc::start_mode::detached);
  ASSERT_TRUE(ok.join(10s));
  EXPECT_EQ(ok.exitcode(), 0);

  proc::process threw(throws_at_once, 1);
  threw.start(proc::start_mode::detached);
  ASSERT_TRUE(threw.join(10s));
  EXPECT_EQ(threw.exitcode(), 1);

  // Killed: only its parent (not the starter) could tell by which signal.
  proc::queue<long> q(8);
  proc::process killed(reports_and_waits, q);
  killed.start(proc::start_mode::detached);
  EXPECT_EQ(next(q), killed.pid());
  killed.kill();
  ASSERT_TRUE(killed.join(10s));
  EXPECT_EQ(killed.exitcode(), proc::process::exit_unknown);
  killed.kill();  // harmless once it ended
  EXPECT_EQ(pt::children().size(), 0u);
}

// Where pidfds are unavailable (old kernels, seccomp, valgrind), the channel's end tells.
TEST(detached_process, without_pidfds_the_channels_end_tells_the_end) {
  ::setenv("TRIDENT_PROC_FAULT", "pidfd_open=ENOSYS", 1);
  proc::queue<long> q(8);
  proc::process released(reports_and_waits, q);
  proc::process killed(reports_and_waits, q);
  released.start(proc::start_mode::detached);
  killed.start(proc::start_mode::detached);
  ::unsetenv("TRIDENT_PROC_FAULT");
  for (int i = 0; i < 8; ++i) (void)next(q);  // both told who they are
  EXPECT_FALSE(released.join(50ms));
  EXPECT_TRUE(released.is_alive());
  released.release();
  ASSERT_TRUE(released.join(10s));
  EXPECT_EQ(released.exitcode(), 0);
  EXPECT_EQ(next(q), -1);
  killed.kill();
  ASSERT_TRUE(killed.join(10s));
  EXPECT_EQ(killed.exitcode(), proc::process::exit_unknown);
  EXPECT_EQ(pt::children().size(), 0u);
}

TEST(detached_process, destroying_the_handle_releases_it) {
  proc::queue<long> q(8);
  int pidfd = -1;
  {
    proc::process p(reports_and_waits, q);
    p.start(proc::start_mode::detached);
    EXPECT_EQ(next(q), p.pid());
    pidfd = pidfd_of(p.pid());
    ASSERT_GE(pidfd, 0);
  }
  EXPECT_TRUE(ends_within(pidfd, 10s)) << "the detached process outlived its released handle";
  ::close(pidfd);
}

TEST(detached_process, a_start_without_the_worker_main_guard_is_a_clear_error) {
  ::setenv("TRIDENT_TEST_FORGETFUL_MAIN", "exit", 1);
  proc::process p(returns_at_once, 1);
  try {
    p.start(proc::start_mode::detached);
    ::unsetenv("TRIDENT_TEST_FORGETFUL_MAIN");
    FAIL() << "start must throw";
  } catch (const proc::worker_start_error& e) {
    ::unsetenv("TRIDENT_TEST_FORGETFUL_MAIN");
    EXPECT_NE(std::string(e.what()).find("worker_main"), std::string::npos) << e.what();
  }
  EXPECT_EQ(pt::children().size(), 0u);
}

// The starter runs in a process of its own (this test again, exec'd), starts a detached
// process, writes its PID to a file and waits; the test SIGKILLs the starter.
TEST(detached_process, ends_when_its_starter_is_killed) {
  if (const char* file = std::getenv("TRIDENT_TEST_DETACHED_STARTER")) {
    proc::queue<long> q(8);
    proc::process p(reports_and_waits, q);
    p.start(proc::start_mode::detached);
    std::ofstream(std::string(file) + ".tmp") << p.pid() << '\n';
    std::filesystem::rename(std::string(file) + ".tmp", file);
    std::this_thread::sleep_for(60s);  // killed long before
    return;
  }
  trident::testing::temp_dir dir;
  const std::string file = (dir.path / "pid").string();
  const pid_t starter = trident::testing::start_current_test_in_child("TRIDENT_TEST_DETACHED_STARTER", file);
  ASSERT_GT(starter, 0);

  int detached = 0;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (detached <= 0 && std::chrono::steady_clock::now() < deadline) {
    std::ifstream(file) >> detached;
    if (detached <= 0) std::this_thread::sleep_for(10ms);
  }
  if (detached <= 0) ::kill(starter, SIGKILL);
  ASSERT_GT(detached, 0) << "the starter did not report its detached process";
  const int pidfd = pidfd_of(detached);
  ASSERT_GE(pidfd, 0) << "the detached process is already gone";
  EXPECT_NE(pt::parent_of(detached), starter);
  EXPECT_FALSE(descends_from(detached, starter));
  EXPECT_FALSE(ends_within(pidfd, 0ms));

  ASSERT_EQ(::kill(starter, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(starter, &status, 0), starter);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  EXPECT_TRUE(ends_within(pidfd, 10s)) << "detached process " << detached << " outlived its starter";
  ::close(pidfd);
  EXPECT_EQ(pt::children().size(), 0u);
}

}  // namespace
