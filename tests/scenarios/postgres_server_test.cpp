// postgres_server: a private server as an unprivileged user on a Unix socket only, and nothing
// left behind — after a release, a bad setting, a killed starter or a killed service.

#include "postgres_server.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>

#include "process_watch.hpp"
#include "scenario.hpp"
#include "trident/testing/temp_dir.hpp"

namespace trident::scenarios {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::alive;
using test::processes_in;
using test::within;

/// A private base directory for the runs' directories, so "nothing left" can be checked exactly.
/// When root, the server's user (nobody) must be able to pass through it.
struct base_dir {
  base_dir() { fs::permissions(dir.path, fs::perms(0755)); }
  [[nodiscard]] std::vector<std::string> names() const { return dir.names(); }
  testing::temp_dir dir{"trident-pg-test"};
};

postgres_options options_in(const base_dir& base) {
  postgres_options options;
  options.base_dir = base.dir.path;
  return options;
}

/// Skips the test where PostgreSQL is not installed (the scenario then says how to install it).
#define SKIP_WITHOUT_POSTGRES()         \
  try {                                 \
    (void)find_postgres_bin_dir();      \
  } catch (const scenario_skipped& e) { \
    GTEST_SKIP() << e.what();           \
  }

/// Socket inodes listening on TCP (IPv4 and IPv6).
std::set<std::string> tcp_socket_inodes() {
  std::set<std::string> inodes;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::istringstream lines(test::read_text(table));
    std::string line;
    std::getline(lines, line);  // heading
    while (std::getline(lines, line)) {
      std::istringstream fields(line);
      std::string f;
      for (int i = 0; i < 10 && (fields >> f); ++i) {}
      if (fields) inodes.insert(f);
    }
  }
  return inodes;
}

/// Socket inodes among process `pid`'s open files.
std::set<std::string> socket_inodes_of(int pid) {
  std::set<std::string> inodes;
  std::error_code ec;
  for (const auto& fd : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    const std::string target = fs::read_symlink(fd.path(), ec).string();
    if (target.rfind("socket:[", 0) == 0) inodes.insert(target.substr(8, target.size() - 9));
  }
  return inodes;
}

TEST(PostgresServer, MissingProgramsAreASkipThatSaysHowToInstall) {
  postgres_options options;
  options.bin_dir = "/nonexistent/postgresql/bin";
  try {
    postgres_server server(options);
    FAIL() << "a server started without its programs";
  } catch (const scenario_skipped& e) {
    EXPECT_NE(std::string(e.what()).find("apt-get install postgresql"), std::string::npos) << e.what();
  }
}

TEST(PostgresServer, RunsUnprivilegedOnAPrivateSocketOnlyAndLeavesNothingWhenStopped) {
  SKIP_WITHOUT_POSTGRES();
  base_dir base;
  std::optional<postgres_server> server(std::in_place, options_in(base));
  const int postmaster = server->server_pid();
  const fs::path dir = server->directory();
  ASSERT_GT(postmaster, 0);
  EXPECT_TRUE(alive(postmaster));
  EXPECT_EQ(dir.parent_path(), base.dir.path);
  EXPECT_TRUE(fs::exists(dir / "run" / ".s.PGSQL.5432"));
  EXPECT_NE(server->conninfo().find(dir.string() + "/run"), std::string::npos) << server->conninfo();
  // The socket's directory is the server user's alone.
  struct stat st {};
  ASSERT_EQ(::stat((dir / "run").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  // PostgreSQL refuses root: as root, the server runs as someone else.
  if (::geteuid() == 0) {
    EXPECT_NE(test::uid_of(postmaster), 0);
  }
  // No TCP socket at all.
  const auto tcp = tcp_socket_inodes();
  for (const auto& inode : socket_inodes_of(postmaster)) EXPECT_EQ(tcp.count(inode), 0u) << "TCP socket " << inode;
  // The server runs outside this process's tree.
  EXPECT_NE(test::stat_fields(postmaster).at(1), std::to_string(::getpid()));

  // The postmaster and the processes it started all work in the data directory.
  EXPECT_GE(processes_in(dir / "data").size(), 2u);

  EXPECT_TRUE(server->stop());
  EXPECT_FALSE(alive(postmaster));
  EXPECT_TRUE(processes_in(dir / "data").empty());
  EXPECT_FALSE(fs::exists(dir));
  server.reset();
  EXPECT_TRUE(base.names().empty());
}

TEST(PostgresServer, ABadSettingFailsWithTheServersWordsAndLeavesNothing) {
  SKIP_WITHOUT_POSTGRES();
  base_dir base;
  postgres_options options = options_in(base);
  options.settings = {"shared_buffers=plenty"};
  try {
    postgres_server server(options);
    FAIL() << "the server started with a bad setting";
  } catch (const scenario_skipped& e) {
    FAIL() << "skipped: " << e.what();
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("PostgreSQL did not start"), std::string::npos) << message;
    EXPECT_NE(message.find("shared_buffers"), std::string::npos) << message;  // from the server's log
  }
  // The service removed the directory before it ended, and the constructor waited for that.
  EXPECT_TRUE(base.names().empty());
}

TEST(PostgresServer, ABusySocketIsAClearError) {
  SKIP_WITHOUT_POSTGRES();
  base_dir base;
  postgres_server first(options_in(base));
  // A second server told to use the first one's socket directory finds the socket taken.
  postgres_options options = options_in(base);
  options.settings = {"unix_socket_directories=" + (first.directory() / "run").string()};
  try {
    postgres_server second(options);
    FAIL() << "two servers on one socket";
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("PostgreSQL did not start"), std::string::npos) << message;
    EXPECT_NE(message.find("server.log (last lines)"), std::string::npos) << message;
    EXPECT_NE(message.find("lock file"), std::string::npos) << message;  // the server's own words
  }
  EXPECT_EQ(base.names(), std::vector<std::string>{first.directory().filename().string()});
  EXPECT_TRUE(alive(first.server_pid()));
}

TEST(PostgresServer, NoPermissionIsAClearErrorAndLeavesNothing) {
  SKIP_WITHOUT_POSTGRES();
  base_dir base;
  // Root may write anywhere, but its server user (nobody) cannot enter a 0700 directory of root's;
  // another user cannot create its run's directory in a read-only one.
  fs::permissions(base.dir.path, ::geteuid() == 0 ? fs::perms(0700) : fs::perms(0500));
  try {
    postgres_server server(options_in(base));
    FAIL() << "a server started where it has no permission";
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("PostgreSQL did not start"), std::string::npos) << message;
    EXPECT_NE(message.find("Permission denied"), std::string::npos) << message;
  }
  fs::permissions(base.dir.path, fs::perms(0755));
  EXPECT_TRUE(base.names().empty());
}

TEST(PostgresServer, AStaleDirectoryIsSweptWithWhatStillRunsInItAndALiveOneIsKept) {
  base_dir base;
  // A directory whose service is gone: a child that ended and was reaped.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  const fs::path stale = base.dir.path / ("trident-pg-" + std::to_string(child) + "-abcdef");
  fs::create_directories(stale / "data");
  std::ofstream(stale / "owner") << child << " 12345\n";
  // One whose owner runs: this process, with its real start time.
  const fs::path live = base.dir.path / ("trident-pg-" + std::to_string(::getpid()) + "-ghijkl");
  fs::create_directories(live);
  std::ofstream(live / "owner") << ::getpid() << ' ' << test::stat_fields(::getpid()).at(19) << '\n';
  // One whose pid was reused since: this process, but another start time.
  const fs::path reused = base.dir.path / ("trident-pg-" + std::to_string(::getpid()) + "-mnopqr");
  fs::create_directories(reused);
  std::ofstream(reused / "owner") << ::getpid() << " 1\n";
  // Not ours at all.
  fs::create_directories(base.dir.path / "something-else");

  // A process still working in the stale data directory, as a server that outlived its service.
  const pid_t leftover = ::fork();
  ASSERT_GE(leftover, 0);
  if (leftover == 0) {
    if (::chdir((stale / "data").c_str()) != 0) ::_exit(1);
    for (;;) ::pause();
  }
  ASSERT_TRUE(within(10s, [&] { return processes_in(stale / "data").size() == 1; }));

  EXPECT_EQ(sweep_stale_postgres_dirs(base.dir.path), 2u);
  EXPECT_EQ(base.names(), (std::vector<std::string>{"something-else", live.filename().string()}));
  ASSERT_EQ(::waitpid(leftover, &status, 0), leftover);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the leftover was not killed";
}

/// The helper's line: "SERVICE_PID SERVER_PID DIRECTORY".
struct started_server {
  int service = 0;
  int server = 0;
  fs::path directory;
};

started_server parse_started(const std::string& line) {
  std::istringstream in(line);
  started_server s;
  std::string dir;
  in >> s.service >> s.server >> dir;
  s.directory = dir;
  return s;
}

TEST(PostgresServer, KillingTheStarterStopsTheServerAndRemovesItsDirectory) {
  SKIP_WITHOUT_POSTGRES();
  base_dir base;
  test::helper_process starter({"--start-postgres-and-wait", base.dir.path.string()});
  const std::string line = starter.read_line(180s);
  const started_server started = parse_started(line);
  ASSERT_GT(started.server, 0) << "helper said '" << line << "'";
  ASSERT_TRUE(alive(started.server));
  ASSERT_TRUE(fs::exists(started.directory));
  ASSERT_GE(processes_in(started.directory / "data").size(), 2u);

  starter.kill();
  EXPECT_TRUE(within(30s, [&] { return processes_in(started.directory / "data").empty(); }))
      << "the server outlived its starter";
  EXPECT_TRUE(within(30s, [&] { return !fs::exists(started.directory) && !alive(started.service); }))
      << started.directory << " outlived its starter";
  EXPECT_TRUE(base.names().empty());
}

TEST(PostgresServer, AKilledServiceTakesTheServerAlongAndTheNextStartSweepsItsDirectory) {
  SKIP_WITHOUT_POSTGRES();
  base_dir base;
  started_server started;
  {
    test::helper_process starter({"--start-postgres-and-wait", base.dir.path.string()});
    const std::string line = starter.read_line(180s);
    started = parse_started(line);
    ASSERT_GT(started.service, 0) << "helper said '" << line << "'";
    ASSERT_TRUE(alive(started.server));
    ASSERT_GE(processes_in(started.directory / "data").size(), 2u);
    // The service dies without a word: the kernel signals the server (PR_SET_PDEATHSIG).
    ::kill(started.service, SIGKILL);
    EXPECT_TRUE(within(30s, [&] { return processes_in(started.directory / "data").empty(); }))
        << "the server outlived its service";
  }
  // Nobody removed the directory: it is stale now.
  EXPECT_TRUE(fs::exists(started.directory));
  postgres_server next(options_in(base));
  EXPECT_FALSE(fs::exists(started.directory)) << "the next start did not sweep " << started.directory;
  EXPECT_EQ(base.names(), std::vector<std::string>{next.directory().filename().string()});
}

}  // namespace
}  // namespace trident::scenarios
