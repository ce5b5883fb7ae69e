// The `trident` command's answers to words it does not know, before any command runs: each names
// the word it refused, on stderr, with the usage exit code (2).

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "run_cli.hpp"
#include "trident/testing/temp_dir.hpp"

namespace fs = std::filesystem;

#ifdef TRIDENT_CLI_PATH

namespace {

using trident::testing::cli_result;
using trident::testing::temp_dir;

/// Runs `trident ARGS` (ARGS as the shell reads them), stdout and stderr apart.
cli_result run_cli(const std::string& args) {
  temp_dir dir{"trident-cli-usage"};
  return trident::testing::run_program_in(dir.path, TRIDENT_CLI_PATH, args);
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
