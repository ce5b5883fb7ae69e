#pragma once
// `trident fetch`: flags in, http::fetch_all, progress and summary out.

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "trident/http/fetch.hpp"

namespace trident::cli {

struct fetch_flags {
  std::vector<std::string> urls;
  std::string input;  // file, or "-" for stdin
  std::string output_dir = ".";
  int jobs = 32;
  int loops = http::default_fetch_loops();  // http::session_options::loops
  int retries = 2;
  double timeout_s = 0;
  std::uint64_t max_size = 0;
  bool skip_existing = false;
  bool json = false;
};

/// A URL to download and where the user gave it: "FILE:LINE" for a line of a URL list (`-i`;
/// "stdin:LINE" for `-i -`), empty for a command-line argument.
struct listed_url {
  http::fetch_item item;
  std::string origin;
};

/// The URLs of a list, one `URL` or `URL<TAB>NAME` per line (http::parse_fetch_line), each with
/// its origin "`list_name`:LINE", lines counted from 1, blank lines and comments included. Pure
/// apart from reading `in`; thread safe for distinct streams.
[[nodiscard]] std::vector<listed_url> read_url_list(std::istream& in, const std::string& list_name);

/// The error to report for `result`: when the URL itself is at fault (malformed, or a scheme
/// other than http/https), the fix is in the list, so the error starts with the line's origin
/// ("urls.txt:6: malformed URL 'x': ..."); otherwise, or without an origin, the error as it is.
/// Pure function; thread safe.
[[nodiscard]] std::string located_error(const http::fetch_result& result, const std::string& origin);

/// Runs the command; returns the exit code (exit_codes.hpp: 0 every URL succeeded, 1 some
/// failed, 128+N stopped by signal N). Throws `usage_error` for what makes it unable to start
/// (no URLs, unreadable list, unusable output folder).
int run_fetch(const fetch_flags& flags);

}  // namespace trident::cli
