#pragma once
// The exit codes of every `trident` command, one scheme for all (README "Exit codes", and the
// footer of `trident --help`). Scripts branch on them, so they never change meaning:
// a usage error must not look like a failed download, nor a stop signal like either.

#include <stdexcept>

namespace trident::cli {

/// Thrown by a command when what the user asked for cannot be done as given (missing input
/// file, unusable output folder): `main` prints the message once and exits with `usage`.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace trident::cli

namespace trident::cli::exit_code {

inline constexpr int ok = 0;             ///< Everything asked for was done.
inline constexpr int some_failed = 1;    ///< The command ran; some items (URLs, cells, cases) failed.
inline constexpr int usage = 2;          ///< Bad flags or values, missing input file, unusable output folder.
inline constexpr int signal_base = 128;  ///< Stopped by signal N: 128 + N (130 Ctrl-C, 143 SIGTERM), as shells do.

[[nodiscard]] constexpr int for_signal(int signal_number) noexcept { return signal_base + signal_number; }

/// The `--help` footer.
inline constexpr const char* help_footer =
    "Exit codes: 0 all ok; 1 some items failed; 2 usage error (bad flag or value, missing input\n"
    "file, unusable output folder); 128+N stopped by signal N (130 Ctrl-C, 129 SIGHUP, 143 SIGTERM).";

}  // namespace trident::cli::exit_code
