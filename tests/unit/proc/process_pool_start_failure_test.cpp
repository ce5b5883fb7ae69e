// process_pool when workers cannot start, and on systems without pidfd_open.
//
// The failures are injected through TRIDENT_PROC_FAULT (see detail/start_process.hpp): a process limit
// (ulimit -u) does not bind root, and a kernel without pidfd_open is not at hand.

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "proc_test_support.hpp"
#include "trident/proc/detail/start_process.hpp"
#include "trident/proc/process.hpp"
#include "trident/proc/process_pool.hpp"
#include "trident/proc/worker_main.hpp"

extern char** environ;

namespace {

volatile std::uintptr_t fallback_bad_address = 8;

int fallback_square(int x) { return x * x; }
TRIDENT_TASK(fallback_square);

int fallback_segfaults(int) {
  volatile int* p = reinterpret_cast<volatile int*>(fallback_bad_address);
  *p = 1;
  return 0;
}
TRIDENT_TASK(fallback_segfaults);

int fallback_sleeps_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}
TRIDENT_TASK(fallback_sleeps_ms);

void fallback_exits_with(int code) { std::_Exit(code); }
TRIDENT_TASK(fallback_exits_with);

using trident::proc::process_pool;
using trident::proc::process_pool_options;
namespace pt = trident::proc::testing;

/// Sets an environment variable for one test and removes it afterwards.
class scoped_env {
 public:
  scoped_env(const char* name, const char* value) : name_(name) { ::setenv(name, value, 1); }
  ~scoped_env() { ::unsetenv(name_); }
  scoped_env(const scoped_env&) = delete;
  scoped_env& operator=(const scoped_env&) = delete;

 private:
  const char* name_;
};

class process_pool_start_failure : public ::testing::Test {
 protected:
  void TearDown() override {
    EXPECT_EQ(pt::wait_for_children(0), 0u) << "a worker outlived its pool";
    EXPECT_EQ(pt::zombie_count(), 0u);
  }
};

// Regression: when the first worker could not be spawned (EAGAIN from the process limit), the
// constructor joined the I/O thread, which slept in epoll_wait with no timeout and nothing left
// to wake it: `process_pool pool(2)` never returned. Before the fix this test ran into its
// ctest TIMEOUT.
TEST_F(process_pool_start_failure, first_worker_that_cannot_spawn_raises_worker_start_error_at_once) {
  scoped_env fault("TRIDENT_PROC_FAULT", "spawn=EAGAIN");
  try {
    process_pool pool(2);
    FAIL() << "the pool started although no worker could be spawned";
  } catch (const trident::proc::worker_start_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(std::strerror(EAGAIN)), std::string::npos) << what;  // the OS's reason
    EXPECT_NE(what.find("ulimit -u"), std::string::npos) << what;
  }
}

// The same bug through the real limit, not the injection: the helper below runs as an unused
// user with RLIMIT_NPROC 2 (its main thread and the pool's I/O thread), so posix_spawn of the
// first worker fails with EAGAIN. Needs root (setpriv), as the CI containers have.
TEST(process_pool_start_failure_helper, pool_under_a_process_limit_raises_worker_start_error) {
  if (std::getenv("TRIDENT_TEST_NPROC_HELPER") == nullptr) GTEST_SKIP() << "runs only inside the test below";
  ::alarm(30);  // a hang ends the helper (and fails the test below) instead of lingering
  try {
    process_pool pool(1);
    FAIL() << "the pool started under RLIMIT_NPROC 2";
  } catch (const trident::proc::worker_start_error& e) {
    EXPECT_NE(std::string(e.what()).find(std::strerror(EAGAIN)), std::string::npos) << e.what();
  }
}

TEST_F(process_pool_start_failure, real_process_limit_raises_worker_start_error_not_a_hang) {
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "ThreadSanitizer's own thread takes one of the two processes the limit allows";
#endif
  if (::geteuid() != 0 || ::access("/usr/bin/setpriv", X_OK) != 0 || ::access("/usr/bin/prlimit", X_OK) != 0) {
    GTEST_SKIP() << "needs root, setpriv and prlimit (util-linux)";
  }
  char self[4096] = {};
  ASSERT_GT(::readlink("/proc/self/exe", self, sizeof self - 1), 0);
  // A user with no process of its own (the limit counts all of that user's processes).
  std::string argv_text[] = {"/usr/bin/prlimit",
                             "--nproc=2",
                             "/usr/bin/setpriv",
                             "--reuid=64999",
                             "--regid=64999",
                             "--clear-groups",
                             self,
                             "--gtest_filter=process_pool_start_failure_helper.pool_under_a_process_limit_raises_"
                             "worker_start_error"};
  std::vector<char*> argv;
  for (auto& a : argv_text) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> env;
  for (char** e = environ; *e != nullptr; ++e) env.push_back(*e);
  char helper_flag[] = "TRIDENT_TEST_NPROC_HELPER=1";
  env.push_back(helper_flag);
  env.push_back(nullptr);
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, out[1], 2);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  ASSERT_EQ(rc, 0) << std::strerror(rc);
  std::string output;
  char buffer[4096];
  for (ssize_t n; (n = ::read(out[0], buffer, sizeof buffer)) > 0;) output.append(buffer, static_cast<std::size_t>(n));
  ::close(out[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;
  EXPECT_NE(output.find("[  PASSED  ] 1 test"), std::string::npos) << output;  // ran, not skipped
}

TEST_F(process_pool_start_failure, replacement_that_cannot_spawn_breaks_the_pool_without_hanging) {
  process_pool pool(1);
  EXPECT_EQ(pool.submit(fallback_square, 3).get(), 9);
  // The crash makes the pool start a replacement, which now fails.
  scoped_env fault("TRIDENT_PROC_FAULT", "spawn=EAGAIN");
  auto crashing = pool.submit(fallback_segfaults, 0);
  EXPECT_THROW(crashing.get(), trident::proc::worker_crashed_error);
  // The next task finds the pool broken, or is queued just before and failed with it.
  try {
    (void)pool.submit(fallback_square, 1).get();
    FAIL() << "a task ran on a pool that has no worker";
  } catch (const trident::proc::worker_start_error& e) {
    EXPECT_NE(std::string(e.what()).find(std::strerror(EAGAIN)), std::string::npos) << e.what();
  }
  pool.shutdown();  // returns: the I/O thread has nothing left to wait for
}

// Without pidfd_open (ENOSYS on kernels before 5.3, EPERM under seccomp or valgrind) the pool
// reaps its workers on SIGCHLD instead of failing to start.
class process_pool_without_pidfd : public process_pool_start_failure {
 protected:
  scoped_env fault_{"TRIDENT_PROC_FAULT", "pidfd_open=ENOSYS"};
};

/// Open pidfds of this process (links to "anon_inode:[pidfd]" in /proc/self/fd).
std::size_t open_pidfds() {
  std::size_t n = 0;
  for (int fd = 0; fd < 1024; ++fd) {
    char link[64];
    char target[128] = {};
    std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    const ssize_t len = ::readlink(link, target, sizeof target - 1);
    n += len > 0 && std::string(target, static_cast<std::size_t>(len)).find("pidfd") != std::string::npos;
  }
  return n;
}

TEST_F(process_pool_start_failure, a_pool_holds_one_pidfd_per_worker_where_pidfd_open_works) {
  process_pool pool(2);
  EXPECT_EQ(open_pidfds(), 2u);  // what the fallback tests below count to zero
}

TEST_F(process_pool_without_pidfd, runs_tasks) {
  process_pool pool(2);
  EXPECT_EQ(open_pidfds(), 0u) << "the injected ENOSYS did not reach pidfd_open";
  std::vector<trident::exec::future<int>> results;
  for (int i = 0; i < 50; ++i) results.push_back(pool.submit(fallback_square, i));
  for (int i = 0; i < 50; ++i) EXPECT_EQ(results[i].get(), i * i);
  EXPECT_EQ(pool.map(fallback_square, std::vector{1, 2, 3}), (std::vector{1, 4, 9}));
}

TEST_F(process_pool_without_pidfd, segfault_fails_only_its_task_and_the_worker_is_replaced) {
  process_pool pool(2);
  std::vector<trident::exec::future<int>> ok;
  for (int i = 0; i < 20; ++i) ok.push_back(pool.submit(fallback_square, i));
  auto bad = pool.submit(fallback_segfaults, 0);
  for (int i = 20; i < 40; ++i) ok.push_back(pool.submit(fallback_square, i));
  try {
    bad.get();
    FAIL() << "crash not reported";
  } catch (const trident::proc::worker_crashed_error& e) {
    EXPECT_EQ(e.signal(), SIGSEGV) << e.what();
    EXPECT_NE(std::string(e.what()).find("fallback_segfaults"), std::string::npos) << e.what();
  }
  for (int i = 0; i < 40; ++i) EXPECT_EQ(ok[i].get(), i * i);
  EXPECT_EQ(pool.submit(fallback_square, 12).get(), 144);
  EXPECT_EQ(pt::wait_for_children(2), 2u) << "the crashed worker was not replaced";
  EXPECT_EQ(pt::zombie_count(), 0u);
  const auto s = pool.statistics();
  EXPECT_EQ(s.crashed, 1u) << s;
  EXPECT_EQ(s.started, 3u) << s;
}

TEST_F(process_pool_without_pidfd, timeout_kills_and_replaces_the_worker) {
  process_pool pool(1);
  auto slow = pool.submit_for(std::chrono::milliseconds(50), fallback_sleeps_ms, 60'000);
  EXPECT_THROW(slow.get(), trident::proc::task_timeout_error);
  EXPECT_EQ(pool.submit(fallback_square, 5).get(), 25);
  EXPECT_EQ(pool.statistics().started, 2u);
}

TEST_F(process_pool_without_pidfd, leaves_the_exit_status_of_other_children_to_the_program) {
  // A child of the program's own, already exited (a zombie) while the pool reaps its workers.
  char true_path[] = "/bin/true";
  char* argv[] = {true_path, nullptr};
  pid_t other = -1;
  ASSERT_EQ(::posix_spawn(&other, true_path, nullptr, nullptr, argv, environ), 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (pt::zombie_count() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  {
    process_pool pool(1);
    auto bad = pool.submit(fallback_segfaults, 0);
    EXPECT_THROW(bad.get(), trident::proc::worker_crashed_error);
    EXPECT_EQ(pool.submit(fallback_square, 4).get(), 16);
  }
  int status = -1;
  ASSERT_EQ(::waitpid(other, &status, 0), other) << "the pool reaped a child that was not its own";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

std::atomic<int> program_sigchld_count{0};

TEST_F(process_pool_without_pidfd, the_programs_own_sigchld_handler_still_runs) {
  struct sigaction mine {};
  struct sigaction old {};
  mine.sa_handler = [](int) { program_sigchld_count.fetch_add(1); };
  sigemptyset(&mine.sa_mask);
  mine.sa_flags = SA_RESTART;
  ASSERT_EQ(::sigaction(SIGCHLD, &mine, &old), 0);
  {
    process_pool pool(1);
    auto bad = pool.submit(fallback_segfaults, 0);
    EXPECT_THROW(bad.get(), trident::proc::worker_crashed_error);
    EXPECT_EQ(pool.submit(fallback_square, 6).get(), 36);
  }
  // The handler runs on whichever thread took the signal; give it time to count.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (program_sigchld_count.load() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_GT(program_sigchld_count.load(), 0);
  ::sigaction(SIGCHLD, &old, nullptr);
}

TEST_F(process_pool_without_pidfd, process_join_reports_the_exit_code) {
  trident::proc::process p(fallback_exits_with, 7);
  p.start();
  EXPECT_TRUE(p.join());
  EXPECT_EQ(p.exitcode(), 7);
}

}  // namespace
