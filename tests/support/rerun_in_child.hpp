#pragma once
// For tests that must run in a process of their own (a lowered RLIMIT_NOFILE, a signal
// disposition, a starter to kill): the current GoogleTest test again, in a fresh exec of this
// test binary.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <vector>

extern char** environ;

namespace trident::testing {

/// Starts the current test again in a new process of this binary (exec'd, so it inherits no
/// thread), with `variable=value` added to its environment, which the test reads to know it is
/// the child; its output goes to `log` (empty: this process's output). Returns its PID, -1 when
/// it could not start; the caller reaps it.
inline pid_t start_current_test_in_child(const std::string& variable, const std::string& value,
                                         const std::filesystem::path& log = {}) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string exe = "/proc/self/exe";
  std::string filter = std::string("--gtest_filter=") + info->test_suite_name() + "." + info->name();
  std::vector<char*> argv{exe.data(), filter.data(), nullptr};
  std::vector<std::string> env_strings{variable + "=" + value};
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  if (!log.empty()) {
    ::posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::posix_spawn_file_actions_adddup2(&actions, 1, 2);
  }
  pid_t pid = -1;
  const int spawned = ::posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), envp.data());
  ::posix_spawn_file_actions_destroy(&actions);
  return spawned == 0 ? pid : -1;
}

/// Runs the current test again in a child (`start_current_test_in_child`) and waits for it.
/// Returns its exit status (128 + N when killed by signal N, -1 when it could not start).
inline int rerun_current_test_in_child(const std::string& variable, const std::string& value,
                                       const std::filesystem::path& log) {
  const pid_t pid = start_current_test_in_child(variable, value, log);
  if (pid < 0) return -1;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace trident::testing
