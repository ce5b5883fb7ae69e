#pragma once
/// @file
/// `trident soak`: the mixed load of soak_load.hpp for a set time, checked every period
/// against the bounds of soak_bounds.hpp (docs/soak.md).
///
/// Thread safety: for `main` only.

#include <string>

#include "command_line.hpp"

namespace trident::cli {

struct soak_flags {
  double minutes = 0;         ///< Duration (this or `seconds`).
  double seconds = 0;         ///< Duration in seconds, for short runs and tests.
  double check_every_s = 60;  ///< Check period.
  double warmup_s = -1;       ///< Before the baseline; < 0: a quarter of the run, at most 60 s.
  int workers = 2;            ///< Process pool workers.
  std::string json;           ///< Summary as JSON into this file (empty: none).
};

/// Runs the soak; returns 0 when every check passed, 1 when one failed (the message names the
/// resource or the work, its start value, its value then and its bound), 128 + N when signal N
/// stopped it (the summary so far is printed, the load is stopped, nothing left running).
/// Throws usage_error for a duration that is not given once, or a check period or warm-up that
/// does not fit it.
int run_soak(const soak_flags& flags);

/// `soak --minutes N | --seconds N [--check-every S] [--warmup S] [--workers N] [--json FILE]`.
[[nodiscard]] command add_soak_command(CLI::App& app);

}  // namespace trident::cli
