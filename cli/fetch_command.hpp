#pragma once
// `trident fetch`: flags in, http::fetch_all, progress and summary out.

#include <cstdint>
#include <string>
#include <vector>

namespace trident::cli {

struct fetch_flags {
  std::vector<std::string> urls;
  std::string input;  // file, or "-" for stdin
  std::string output_dir = ".";
  int jobs = 32;
  int retries = 2;
  double timeout_s = 0;
  std::uint64_t max_size = 0;
  bool skip_existing = false;
  bool json = false;
};

/// Runs the command; returns the exit code (0 only if every URL succeeded, 130 on Ctrl-C).
int run_fetch(const fetch_flags& flags);

}  // namespace trident::cli
