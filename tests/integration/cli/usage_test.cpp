// The `trident` command's answers to words it does not know, before any command runs: each names
// the word it refused, on stderr, with the usage exit code (2).

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "trident/testing/temp_dir.hpp"

namespace fs = std::filesystem;

#ifdef TRIDENT_CLI_PATH

namespace {

using trident::testing::temp_dir;

struct cli_result {
  int code = -1;
  std::string out;
  std::string err;
};

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), {}};
}

/// Runs `trident ARGS` (ARGS as the shell reads them), stdout and stderr apart.
cli_result run_cli(const std::string& args) {
  temp_dir dir{"trident-cli-usage"};
  const fs::path out = dir.path / "stdout";
  const fs::path err = dir.path / "stderr";
  const std::string command =
      std::string("'") + TRIDENT_CLI_PATH + "' " + args + " >'" + out.string() + "' 2>'" + err.string() + "'";
  const int status = std::system(command.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_text(out), read_text(err)};
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

// Regression (issue #22, item 9): `trident --bogus` said "A subcommand is required", as if the
// user had typed nothing, instead of naming the flag it did not know.
TEST(cli_usage, an_unknown_option_before_the_command_is_named) {
  for (const std::string args : {"--bogus", "--bogus fetch http://127.0.0.1:1/x", "-x tour", "--bogus=3"}) {
    SCOPED_TRACE(args);
    const auto r = run_cli(args);
    const std::string word = args.substr(0, args.find(' '));
    EXPECT_EQ(r.code, 2);
    EXPECT_TRUE(contains(r.err, "trident: unknown option '" + word + "' (see trident --help)")) << r.err;
    EXPECT_FALSE(contains(r.err, "ubcommand")) << r.err;
    EXPECT_EQ(r.out, "");
  }
}

TEST(cli_usage, an_unknown_command_is_named) {
  const auto r = run_cli("no-such-command");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "trident: unknown command 'no-such-command'")) << r.err;
}

// trident's own options before the command are not unknown: they still work.
TEST(cli_usage, help_and_version_before_the_command_still_work) {
  const auto help = run_cli("--help");
  EXPECT_EQ(help.code, 0) << help.err;
  EXPECT_TRUE(contains(help.out, "Usage:")) << help.out;
  EXPECT_EQ(run_cli("-h").code, 0);
  const auto version = run_cli("--version");
  EXPECT_EQ(version.code, 0) << version.err;
  EXPECT_TRUE(contains(version.out, "trident ")) << version.out;
  const auto nothing = run_cli("");
  EXPECT_EQ(nothing.code, 2);
}

#else
TEST(cli_usage, needs_the_cli) { GTEST_SKIP() << "built without the trident command (TRIDENT_BUILD_CLI=OFF)"; }
#endif
