#pragma once
/// @file
/// `raise_open_file_limit`: lifts this process's soft limit on open files (RLIMIT_NOFILE) to its
/// hard limit, for programs that hold a descriptor per connection and per file (a downloader of
/// many URLs, a server). The soft limit, often 1024, is only a default; the hard one is what the
/// administrator allows. `http::fetch_all` caps its transfers by the descriptors still free in
/// any case, so this makes such a program faster under a low soft limit, never correct.

#include <sys/resource.h>

namespace trident {

/// Raises the soft RLIMIT_NOFILE to the hard one and returns the soft limit in force afterwards
/// (unchanged when it already was the hard one, or when the system refuses). Never throws.
///
/// @par Thread safety
/// Any thread; the limit is the process's, so call it once at start-up, before other threads
/// count on the old value.
inline rlim_t raise_open_file_limit() noexcept {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) return raised.rlim_cur;
  }
  return limit.rlim_cur;
}

}  // namespace trident
