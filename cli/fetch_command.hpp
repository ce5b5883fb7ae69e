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
  int loops = 1;  // http::session_options::loops
  int retries = 2;
  double timeout_s = 0;
  std::uint64_t max_size = 0;
  bool skip_existing = false;
  bool json = false;
};

/// Runs the command; returns the exit code (exit_codes.hpp: 0 every URL succeeded, 1 some
/// failed, 128+N stopped by signal N). Throws `usage_error` for what makes it unable to start
/// (no URLs, unreadable list, unusable output folder).
int run_fetch(const fetch_flags& flags);

}  // namespace trident::cli
