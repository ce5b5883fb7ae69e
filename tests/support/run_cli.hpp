#pragma once
/// @file
/// Runs the `trident` command under test the way a shell user would, for the command's
/// integration tests: `run_cli(dir, args)` runs `TRIDENT_CLI_PATH ARGS` (ARGS as the shell reads
/// them) in `dir`, with stdout and stderr captured apart in files there. Not thread-safe: one
/// call per folder at a time.

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace trident::testing {

/// What a command run said and how it ended (-1: it did not exit, e.g. it was killed).
struct cli_result {
  int code = -1;
  std::string out;
  std::string err;
};

/// The whole of a file as text ("" when it cannot be read).
inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), {}};
}

/// Runs `program ARGS` in `dir`; its stdout and stderr go to `dir/stdout` and `dir/stderr`.
inline cli_result run_program_in(const std::filesystem::path& dir, const std::string& program,
                                 const std::string& args) {
  const std::filesystem::path out = dir / "stdout";
  const std::filesystem::path err = dir / "stderr";
  const std::string command =
      "cd '" + dir.string() + "' && '" + program + "' " + args + " >'" + out.string() + "' 2>'" + err.string() + "'";
  const int status = std::system(command.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_text(out), read_text(err)};
}

}  // namespace trident::testing
