#include "trident/core/atomic_file.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "trident/testing/temp_dir.hpp"

namespace fs = std::filesystem;
using trident::atomic_file;

using trident::testing::temp_dir;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

/// Both ways of writing: the unnamed O_TMPFILE file, and the named temporary it falls back to.
class atomic_file_both : public ::testing::TestWithParam<bool> {
 protected:
  [[nodiscard]] atomic_file::options opts(atomic_file::existing e = atomic_file::existing::refuse) const {
    atomic_file::options o;
    o.if_exists = e;
    o.unnamed_temporary = GetParam();
    return o;
  }
  temp_dir dir{"trident-atomic-file"};
};

/// Whether `dir` takes O_TMPFILE files (tmpfs and ext4 do; some file systems do not).
bool supports_unnamed(const fs::path& dir) {
  atomic_file probe(dir / "probe");
  return probe.unnamed();
}

}  // namespace

TEST_P(atomic_file_both, commit_creates_the_file_with_the_content) {
  const std::string text(100'000, 'x');
  atomic_file f(dir.path / "out.txt", opts());
  f.write(text);
  f.write(std::string_view("end"));
  EXPECT_EQ(dir.names().size(), GetParam() && f.unnamed() ? 0u : 1u);  // only a named temporary shows
  f.commit();
  EXPECT_EQ(read_file(dir.path / "out.txt"), text + "end");
  EXPECT_EQ(dir.names(), std::vector<std::string>{"out.txt"});
  EXPECT_EQ(f.native_handle(), -1);
}

TEST_P(atomic_file_both, abandon_and_destruction_leave_nothing) {
  {
    atomic_file f(dir.path / "a", opts());
    f.write(std::string_view("partial"));
    f.abandon();
    f.abandon();  // idempotent
  }
  {
    atomic_file f(dir.path / "b", opts());
    f.write(std::string_view("partial"));
  }
  EXPECT_TRUE(dir.names().empty());
}

TEST_P(atomic_file_both, refuse_keeps_an_existing_file_and_says_so) {
  std::ofstream(dir.path / "t") << "old";
  try {
    atomic_file f(dir.path / "t", opts());
    ADD_FAILURE() << "an existing file was accepted";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EEXIST);
    EXPECT_NE(std::string(e.what()).find("refusing to replace the existing file"), std::string::npos) << e.what();
  }
  // A file that appears after creation is not clobbered by commit either.
  atomic_file late(dir.path / "u", opts());
  late.write(std::string_view("new"));
  std::ofstream(dir.path / "u") << "first";
  try {
    late.commit();
    ADD_FAILURE() << "commit replaced a file that appeared meanwhile";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EEXIST);
  }
  EXPECT_EQ(read_file(dir.path / "t"), "old");
  EXPECT_EQ(read_file(dir.path / "u"), "first");
  EXPECT_EQ(dir.names(), (std::vector<std::string>{"t", "u"}));  // no temporary left
}

TEST_P(atomic_file_both, replace_swaps_in_the_new_content_at_once) {
  std::ofstream(dir.path / "t") << "old";
  // A reader holding the old file keeps reading the old content: the name moved, not the bytes.
  std::ifstream reader(dir.path / "t");
  atomic_file f(dir.path / "t", opts(atomic_file::existing::replace));
  f.write(std::string_view("new content"));
  EXPECT_EQ(read_file(dir.path / "t"), "old");
  f.commit();
  EXPECT_EQ(read_file(dir.path / "t"), "new content");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(reader), {}), "old");
  EXPECT_EQ(dir.names(), std::vector<std::string>{"t"});
}

TEST_P(atomic_file_both, rewind_starts_the_content_again) {
  atomic_file f(dir.path / "r", opts());
  f.write(std::string_view("first attempt, longer"));
  f.rewind();
  f.write(std::string_view("second"));
  f.commit();
  EXPECT_EQ(read_file(dir.path / "r"), "second");
}

TEST_P(atomic_file_both, durable_commit_writes_the_same_file) {
  atomic_file::options o = opts();
  o.durable = true;
  atomic_file f(dir.path / "d", o);
  f.write(std::string_view("synced"));
  f.commit();
  EXPECT_EQ(read_file(dir.path / "d"), "synced");
}

TEST_P(atomic_file_both, a_failed_write_is_reported_and_leaves_nothing) {
  // A file size limit makes write() fail with EFBIG, as a full disk makes it fail with ENOSPC
  // (tests/integration/http/cli_fetch_test.cpp has the real ENOSPC, on a tiny tmpfs). In a child,
  // so the limit does not reach the test runner.
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::signal(SIGXFSZ, SIG_IGN);
    rlimit limit{4096, 4096};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    int code = 0;
    try {
      atomic_file f(dir.path / "big", opts());
      f.write(std::string(10'000, 'x'));
      code = 1;  // no error
    } catch (const std::system_error& e) {
      code = e.code().value() == EFBIG ? 0 : 2;
    }
    ::_exit(code);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_TRUE(dir.names().empty());
}

INSTANTIATE_TEST_SUITE_P(ways, atomic_file_both, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "unnamed" : "named_temporary"; });

TEST(atomic_file, a_killed_writer_leaves_nothing_behind) {
  temp_dir dir{"trident-atomic-file"};
  if (!supports_unnamed(dir.path)) GTEST_SKIP() << dir.path << " has no O_TMPFILE";
  for (const int how : {SIGKILL, 0}) {  // killed, and an _exit without commit
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      atomic_file f(dir.path / "victim");
      f.write(std::string(1'000'000, 'x'));
      if (how != 0) ::raise(how);
      ::_exit(0);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(how == 0 ? WIFEXITED(status) : WIFSIGNALED(status));
    EXPECT_TRUE(dir.names().empty()) << "something was left after " << (how ? "SIGKILL" : "_exit");
  }
}

TEST(atomic_file, a_relative_target_is_written_in_the_current_directory) {
  temp_dir dir{"trident-atomic-file"};
  const auto old = fs::current_path();
  fs::current_path(dir.path);
  {
    atomic_file f("plain");
    f.write(std::string_view("here"));
    f.commit();
  }
  fs::current_path(old);
  EXPECT_EQ(read_file(dir.path / "plain"), "here");
}

TEST(atomic_file, a_missing_directory_is_a_clear_error) {
  temp_dir dir{"trident-atomic-file"};
  try {
    atomic_file f(dir.path / "no" / "such" / "dir" / "f");
    ADD_FAILURE() << "no error";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
    EXPECT_NE(std::string(e.what()).find("no/such/dir/f"), std::string::npos) << e.what();
  }
}

TEST(atomic_file, moves_keep_one_owner) {
  temp_dir dir{"trident-atomic-file"};
  atomic_file a(dir.path / "m");
  a.write(std::string_view("moved"));
  atomic_file b(std::move(a));
  EXPECT_EQ(a.native_handle(), -1);  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  b.commit();
  EXPECT_EQ(read_file(dir.path / "m"), "moved");
}

namespace {

/// A process that writes `target` through a named temporary and stays alive until `finish`: a
/// live writer, as another run of a program writing into the same folder would be.
struct live_writer {
  explicit live_writer(const fs::path& target) {
    int ready[2];
    int hold[2];
    if (::pipe(ready) != 0 || ::pipe(hold) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
    pid = ::fork();
    if (pid == 0) {
      ::close(ready[0]);
      ::close(hold[1]);  // else the test's close would not end the read below
      atomic_file f(target, {.unnamed_temporary = false});
      f.write(std::string_view("partial"));
      char byte = 'r';
      (void)!::write(ready[1], &byte, 1);
      (void)!::read(hold[0], &byte, 1);  // until the test closes `hold`
      ::_exit(0);
    }
    ::close(ready[1]);
    ::close(hold[0]);
    char byte = 0;
    (void)!::read(ready[0], &byte, 1);
    ::close(ready[0]);
    release = hold[1];
  }
  live_writer(const live_writer&) = delete;
  live_writer& operator=(const live_writer&) = delete;
  ~live_writer() { finish(); }
  void finish() {
    if (release < 0) return;
    ::close(std::exchange(release, -1));
    ::waitpid(pid, nullptr, 0);
  }
  pid_t pid = -1;
  int release = -1;
};

/// A writer killed with SIGKILL after writing `target` through a named temporary, and reaped:
/// its PID names no process any more. Returns that PID.
pid_t killed_writer(const fs::path& target) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    atomic_file f(target, {.unnamed_temporary = false});
    f.write(std::string_view("partial"));
    ::raise(SIGKILL);
    ::_exit(0);
  }
  ::waitpid(pid, nullptr, 0);
  return pid;
}

std::string temporary_of(pid_t pid, const std::vector<std::string>& names) {
  const std::string mark = ".part-" + std::to_string(pid) + "-";
  for (const auto& name : names) {
    if (name.find(mark) != std::string::npos) return name;
  }
  return {};
}

}  // namespace

TEST(atomic_file, remove_stale_temporaries_removes_only_those_of_writers_that_are_gone) {
  temp_dir dir{"trident-atomic-file"};
  const pid_t dead = killed_writer(dir.path / "report.json");
  const std::string dead_temporary = temporary_of(dead, dir.names());
  ASSERT_FALSE(dead_temporary.empty()) << "the killed writer left no named temporary";
  live_writer live(dir.path / "live.json");
  const std::string live_temporary = temporary_of(live.pid, dir.names());
  ASSERT_FALSE(live_temporary.empty());
  atomic_file mine(dir.path / "mine.json", {.unnamed_temporary = false});  // this process: alive
  mine.write(std::string_view("partial"));
  const std::string my_temporary = temporary_of(::getpid(), dir.names());
  ASSERT_FALSE(my_temporary.empty());

  // Other entries, some with the dead PID in a name of another form: none is a temporary.
  const std::string d = std::to_string(dead);
  const std::vector<std::string> others = {"notes.txt",           "notes.part-ab-1", ".part-" + d + "-1", "x.part-" + d,
                                           "x.part-" + d + "-1b", "x.part--1",       "x.part-" + d + "-"};
  for (const auto& name : others) std::ofstream(dir.path / name) << "keep";
  fs::create_directory(dir.path / ("folder.part-" + d + "-7"));
  fs::create_symlink("notes.txt", dir.path / ("link.part-" + d + "-8"));
  const auto before = dir.names();

  const auto removed = atomic_file::remove_stale_temporaries(dir.path);

  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].path, dir.path / dead_temporary);
  EXPECT_EQ(removed[0].writer_pid, dead);
  auto expected = before;
  expected.erase(std::find(expected.begin(), expected.end(), dead_temporary));
  EXPECT_EQ(dir.names(), expected) << "a live writer's temporary or another file was removed";
  EXPECT_EQ(read_file(dir.path / "notes.txt"), "keep");

  // The live writers still commit: their temporaries were theirs all along.
  mine.commit();
  EXPECT_EQ(read_file(dir.path / "mine.json"), "partial");
  EXPECT_TRUE(atomic_file::remove_stale_temporaries(dir.path).empty()) << "a second sweep finds nothing";
}

/// Another user's leftovers, even of a process that is gone, are that user's to remove. Checked
/// where this test may give a file away (root); skipped elsewhere.
TEST(atomic_file, remove_stale_temporaries_keeps_another_users_files) {
  temp_dir dir{"trident-atomic-file"};
  const pid_t dead = killed_writer(dir.path / "report.json");
  const std::string temporary = temporary_of(dead, dir.names());
  ASSERT_FALSE(temporary.empty());
  if (::chown((dir.path / temporary).c_str(), 65534, 65534) != 0) GTEST_SKIP() << "cannot give a file away here";
  EXPECT_TRUE(atomic_file::remove_stale_temporaries(dir.path).empty());
  EXPECT_EQ(dir.names(), std::vector<std::string>{temporary});
}

TEST(atomic_file, remove_stale_temporaries_of_a_missing_folder_is_a_clear_error) {
  temp_dir dir{"trident-atomic-file"};
  try {
    (void)atomic_file::remove_stale_temporaries(dir.path / "missing");
    ADD_FAILURE() << "no error";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
    EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos) << e.what();
  }
}
