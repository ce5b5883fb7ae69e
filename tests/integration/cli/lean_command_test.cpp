// `trident` is the light program: the process that runs --version, fetch, the tour's thread,
// async and process cells, and the process pools' fork server (the same executable, so the same
// libraries) maps none of the heavy commands' libraries; those run in their own executables
// (trident-scenarios, trident-transcribe, trident-cluster-demo), which `trident` hands them to.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "trident/testing/temp_dir.hpp"

extern char** environ;

namespace fs = std::filesystem;

#ifdef TRIDENT_CLI_PATH

namespace {

using trident::testing::finish;
using trident::testing::read_text;
using trident::testing::temp_dir;

/// The shared objects a process maps, from /proc/PID/maps: one path per mapping line.
std::vector<std::string> mapped_libraries(pid_t pid) {
  std::vector<std::string> libraries;
  const std::string maps = read_text("/proc/" + std::to_string(pid) + "/maps");
  std::size_t at = 0;
  while (at < maps.size()) {
    const auto end = maps.find('\n', at);
    const std::string line = maps.substr(at, end == std::string::npos ? std::string::npos : end - at);
    at = end == std::string::npos ? maps.size() : end + 1;
    const auto slash = line.find('/');
    if (slash == std::string::npos || line.find(".so", slash) == std::string::npos) continue;
    const std::string path = line.substr(slash);
    if (libraries.empty() || libraries.back() != path) libraries.push_back(path);
  }
  return libraries;
}

// Regression (issue #23): `trident` linked 179 shared libraries, FFmpeg's, libvips', libpq,
// Open MPI and ggml among them, and every command paid their loading, the fork server included.
TEST(cli_lean, the_trident_process_maps_no_heavy_library) {
  temp_dir dir{"trident-lean"};
  // `fetch -i -` reads its list from stdin before it starts: the process waits there, mapped
  // as it runs, while this test reads its maps.
  int in[2];
  ASSERT_EQ(::pipe(in), 0);
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  ::posix_spawn_file_actions_addclose(&actions, in[1]);
  std::string exe = TRIDENT_CLI_PATH, fetch = "fetch", input = "-i", dash = "-", output = "-o",
              folder = (dir.path / "out").string();
  std::vector<char*> argv{exe.data(), fetch.data(), input.data(), dash.data(), output.data(), folder.data(), nullptr};
  pid_t pid = 0;
  ASSERT_EQ(::posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), environ), 0);
  ::posix_spawn_file_actions_destroy(&actions);
  ::close(in[0]);

  // Wait until the program itself is mapped (the exec has happened) and its libraries loaded.
  std::vector<std::string> libraries;
  for (int i = 0; i < 100; ++i) {
    libraries = mapped_libraries(pid);
    bool has_fmt = false;
    for (const auto& l : libraries) has_fmt = has_fmt || l.find("libfmt") != std::string::npos;
    if (has_fmt || libraries.size() > 10) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::close(in[1]);  // an empty list: fetch ends with a usage error
  EXPECT_NE(finish(pid, std::chrono::seconds(30)), -1);

  ASSERT_FALSE(libraries.empty());
  std::string all;
  for (const auto& l : libraries) all += l + "\n";
  for (const char* heavy : {"libavformat", "libavcodec", "libavutil", "libswresample", "libvips", "libpq.so", "libmpi",
                            "libopen-pal", "libggml", "libwhisper"}) {
    EXPECT_EQ(all.find(heavy), std::string::npos) << heavy << " is mapped by trident:\n" << all;
  }
  RecordProperty("shared_libraries", static_cast<int>(libraries.size()));
  std::printf("trident maps %zu shared libraries\n", libraries.size());
}

/// Runs `trident ARGS` through the shell; its exit code and stdout.
std::pair<int, std::string> run_cli(const std::string& args) {
  temp_dir dir{"trident-lean-run"};
  const fs::path out = dir.path / "stdout";
  const std::string command = std::string("'") + TRIDENT_CLI_PATH + "' " + args + " >'" + out.string() + "' 2>&1";
  const int status = std::system(command.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_text(out)};
}

// `trident --help` lists every command, those of the other executables included.
TEST(cli_lean, help_lists_every_command) {
  const auto [code, out] = run_cli("--help");
  EXPECT_EQ(code, 0) << out;
  for (const char* command : {"tour", "bench", "fetch", "scenarios", "advise"}) {
    EXPECT_NE(out.find(std::string("  ") + command), std::string::npos) << command << "\n" << out;
  }
  EXPECT_EQ(out.find("not installed"), std::string::npos) << out;
  EXPECT_EQ(out.find("tour-cell"), std::string::npos) << "the tour's own command is listed:\n" << out;
}

// A forwarded command keeps its flags, its help and its exit codes: `trident scenarios --help`
// is trident-scenarios' help, and a bad value is its usage error (2).
TEST(cli_lean, forwarded_commands_answer_as_their_own) {
  const auto [help_code, help] = run_cli("scenarios --help");
  EXPECT_EQ(help_code, 0) << help;
  EXPECT_NE(help.find("--size"), std::string::npos) << help;
  const auto [bad_code, bad] = run_cli("scenarios web --size huge");
  EXPECT_EQ(bad_code, 2) << bad;
  EXPECT_NE(bad.find("huge"), std::string::npos) << bad;
  const auto [suite_code, suite] = run_cli("bench --repeat 1 scenarios --case nosuchcase");
  EXPECT_NE(suite_code, 0) << suite;
  EXPECT_NE(suite.find("nosuchcase"), std::string::npos) << suite;
}

// Without the heavy executable next to it, `trident` says what is missing and how to get it.
TEST(cli_lean, a_missing_executable_is_named) {
  temp_dir dir{"trident-lean-alone"};
  const fs::path alone = dir.path / "trident";
  fs::copy_file(TRIDENT_CLI_PATH, alone);
  fs::permissions(alone, fs::perms::owner_all);
  temp_dir out_dir{"trident-lean-out"};
  const fs::path out = out_dir.path / "out";
  const std::string run = "'" + alone.string() + "' scenarios web >'" + out.string() + "' 2>&1";
  const int status = std::system(run.c_str());
  const std::string text = read_text(out);
  EXPECT_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 2) << text;
  EXPECT_NE(text.find("'scenarios' is not installed: trident-scenarios"), std::string::npos) << text;
  const std::string help = "'" + alone.string() + "' --help >'" + out.string() + "' 2>&1";
  EXPECT_EQ(std::system(help.c_str()), 0);
  EXPECT_NE(read_text(out).find("not installed: trident-scenarios is missing"), std::string::npos) << read_text(out);
}

}  // namespace

#endif  // TRIDENT_CLI_PATH
