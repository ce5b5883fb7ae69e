#include "bench_suites.hpp"

#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace trident::bench {

// Defined in threads_suite.cpp, async_suite.cpp, http_suite.cpp and process_suite.cpp.
int run_threads_suite(const bench_options& options);
int run_async_suite(const bench_options& options);
int run_http_suite(const bench_options& options);
int run_process_suite(const bench_options& options);
#if TRIDENT_BENCH_MEDIA
int run_media_suite(const bench_options& options);  // media_suite.cpp, with the media layer
#endif

std::vector<std::string> suite_names() {
#if TRIDENT_BENCH_MEDIA
  return {"threads", "async", "http", "process", "media"};
#else
  return {"threads", "async", "http", "process"};
#endif
}

int run_suite(const bench_options& options) {
  if (options.repeat < 1) throw std::invalid_argument(fmt::format("--repeat must be at least 1 (got {})", options.repeat));
  if (options.suite == "threads") return run_threads_suite(options);
  if (options.suite == "async") return run_async_suite(options);
  if (options.suite == "http") return run_http_suite(options);
  if (options.suite == "process") return run_process_suite(options);
#if TRIDENT_BENCH_MEDIA
  if (options.suite == "media") return run_media_suite(options);
#endif
  throw std::invalid_argument(fmt::format("unknown benchmark suite '{}' (valid: {})", options.suite,
                                          fmt::join(suite_names(), ", ")));
}

}  // namespace trident::bench
