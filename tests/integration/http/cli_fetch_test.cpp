// `trident fetch` as a user runs it: a child process against trident::testing::http_server, reading its
// stdout and exit code, and Ctrl-C (SIGINT) in the middle of transfers.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "trident/testing/http_server.hpp"
#include "trident/testing/temp_dir.hpp"

extern char** environ;

namespace fs = std::filesystem;
using namespace std::chrono_literals;

#ifdef TRIDENT_CLI_PATH

using trident::testing::temp_dir;

namespace {

struct child {
  pid_t pid = -1;
  fs::path out_file;
};

child start(const std::vector<std::string>& args, const fs::path& out_file) {
  std::vector<std::string> all{TRIDENT_CLI_PATH, "fetch"};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  child c;
  c.out_file = out_file;
  EXPECT_EQ(::posix_spawn(&c.pid, argv[0], &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  return c;
}

int finish(const child& c) {
  int status = 0;
  ::waitpid(c.pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace

TEST(cli_fetch, json_lines_per_url_and_exit_code_one_on_any_failure) {
  trident::testing::http_server server;
  temp_dir dir{"trident-cli-fetch"};
  const fs::path list = dir.path / "urls.txt";
  std::ofstream(list) << server.url("/files/a.txt") << "\n# a comment\n\n"
                      << server.url("/files/b.txt") << "\tnamed.txt\n"
                      << server.url("/status/404") << "\n"
                      << "notaurl\n";
  const child c = start({"-i", list.string(), "-o", (dir.path / "out").string(), "--json", "-j", "3"}, dir.path / "stdout");
  EXPECT_EQ(finish(c), 1);
  const std::string text = read_all(c.out_file);
  std::vector<nlohmann::json> lines;
  std::size_t pos = 0;
  for (std::size_t end; (end = text.find('\n', pos)) != std::string::npos; pos = end + 1) {
    lines.push_back(nlohmann::json::parse(text.substr(pos, end - pos)));
  }
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0]["outcome"], "ok");
  EXPECT_EQ(lines[1]["outcome"], "ok");
  EXPECT_EQ(lines[2]["status"], 404);
  EXPECT_EQ(lines[2]["outcome"], "failed");
  EXPECT_EQ(lines[3]["outcome"], "failed");
  EXPECT_EQ(dir.names("out"), (std::vector<std::string>{"a.txt", "named.txt"}));
}

TEST(cli_fetch, all_good_exits_zero) {
  trident::testing::http_server server;
  temp_dir dir{"trident-cli-fetch"};
  const child c = start({server.url("/files/x"), server.url("/files/x"), "-o", (dir.path / "o").string()}, dir.path / "stdout");
  EXPECT_EQ(finish(c), 0);
  EXPECT_EQ(dir.names("o"), (std::vector<std::string>{"x", "x-1"}));
  EXPECT_NE(read_all(c.out_file).find("2 URLs: 2 ok"), std::string::npos);
}

TEST(cli_fetch, ctrl_c_cancels_transfers_removes_temporaries_and_prints_the_summary) {
  trident::testing::http_server server;
  temp_dir dir{"trident-cli-fetch"};
  const child c = start({server.url("/files/quick"), server.url("/stall/50000"), server.url("/hang"), "-o",
                         (dir.path / "o").string()},
                        dir.path / "stdout");
  // Wait until the quick file is complete and the stalled transfer has its file open. That file
  // is unnamed (O_TMPFILE, see trident/core/atomic_file.hpp): it shows in the process's open
  // descriptors only, as "<dir>/#<inode> (deleted)".
  bool temp_seen = false, quick_done = false;
  for (int i = 0; i < 1000 && !(temp_seen && quick_done); ++i) {
    std::this_thread::sleep_for(10ms);
    std::error_code ec;
    if (!fs::is_directory(dir.path / "o", ec)) continue;
    for (const auto& e : fs::directory_iterator(dir.path / "o", ec)) quick_done = quick_done || e.path().filename() == "quick";
    for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(c.pid) + "/fd", ec)) {
      const std::string target = fs::read_symlink(e.path(), ec).string();
      temp_seen = temp_seen || (target.starts_with((dir.path / "o").string() + "/") && target.ends_with(" (deleted)"));
    }
  }
  EXPECT_TRUE(temp_seen && quick_done);
  ::kill(c.pid, SIGINT);
  EXPECT_EQ(finish(c), 130);
  EXPECT_EQ(dir.names("o"), (std::vector<std::string>{"quick"}));  // temporaries gone
  const std::string text = read_all(c.out_file);
  EXPECT_NE(text.find("interrupted"), std::string::npos) << text;
  EXPECT_NE(text.find("1 ok"), std::string::npos) << text;
  EXPECT_NE(text.find("2 cancelled"), std::string::npos) << text;
}

/// Disk full, for real: a 64 KiB tmpfs mounted in a private mount namespace (`unshare -m`, so
/// nobody else sees it), and a 1 MB download into it. Needs the right to mount (root in a
/// container that allows it); skipped otherwise.
TEST(cli_fetch, disk_full_reports_enospc_and_leaves_no_temporary) {
  temp_dir dir{"trident-cli-fetch"};
  const fs::path mnt = dir.path / "small";
  fs::create_directory(mnt);
  const std::string probe = "unshare -m sh -c 'mount -t tmpfs -o size=64k tmpfs " + mnt.string() + "' >/dev/null 2>&1";
  if (std::system(probe.c_str()) != 0) GTEST_SKIP() << "cannot mount a tmpfs in a private mount namespace here";

  trident::testing::http_server server;
  const fs::path out = dir.path / "stdout";
  // Inside the namespace: mount, fetch a small file (fits) and a large one (does not), then
  // list what is left in the directory.
  const fs::path script = dir.path / "run.sh";
  std::ofstream(script) << "mount -t tmpfs -o size=64k tmpfs " << mnt.string() << " || exit 99\n"
                        << TRIDENT_CLI_PATH << " fetch --json -j 1 -o " << mnt.string() << " " << server.url("/files/small")
                        << " " << server.url("/bytes/1000000") << "\n"
                        << "rc=$?\n"
                        << "echo \"left: $(ls -A " << mnt.string() << ")\"\n"
                        << "exit $rc\n";
  const std::string cmd = "unshare -m sh " + script.string() + " > " + out.string() + " 2>/dev/null";
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
  const std::string text = read_all(out);
  EXPECT_NE(text.find("No space left on device"), std::string::npos) << text;
  EXPECT_NE(text.find("left: small\n"), std::string::npos) << text;  // no temporary, no partial file
}

TEST(cli_fetch, no_urls_is_a_usage_error) {
  temp_dir dir{"trident-cli-fetch"};
  const child c = start({"-o", dir.path.string()}, dir.path / "stdout");
  EXPECT_EQ(finish(c), 2);
}

#else

TEST(cli_fetch, needs_the_cli) { GTEST_SKIP() << "built without the trident command (TRIDENT_BUILD_CLI=OFF)"; }

#endif
