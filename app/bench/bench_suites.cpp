#include "bench_suites.hpp"

#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "interruption.hpp"

namespace trident::bench {

// Defined in threads_suite.cpp, async_suite.cpp, http_suite.cpp, process_suite.cpp and scenarios_suite.cpp.
int run_threads_suite(const bench_options& options);
int run_async_suite(const bench_options& options);
int run_http_suite(const bench_options& options);
int run_process_suite(const bench_options& options);
int run_scenarios_suite(const bench_options& options);
#if defined(TRIDENT_WITH_CLUSTER)
int run_cluster_suite(const bench_options& options);  // cluster_suite.cpp, built with MPI only
#endif
#if TRIDENT_BENCH_MEDIA
int run_media_suite(const bench_options& options);  // media_suite.cpp, with the media layer
#endif

std::vector<std::string> suite_names() {
  std::vector<std::string> names{"threads", "async", "http", "process", "scenarios"};
#if defined(TRIDENT_WITH_CLUSTER)
  names.push_back("cluster");
#endif
#if TRIDENT_BENCH_MEDIA
  names.push_back("media");
#endif
  return names;
}

int run_suite(const bench_options& options) {
  if (options.repeat < 1) throw std::invalid_argument(fmt::format("--repeat must be at least 1 (got {})", options.repeat));
  const interruption_guard stop_signals;  // before any suite starts a thread
  if (options.suite == "threads") return run_threads_suite(options);
  if (options.suite == "async") return run_async_suite(options);
  if (options.suite == "http") return run_http_suite(options);
  if (options.suite == "process") return run_process_suite(options);
  if (options.suite == "scenarios") return run_scenarios_suite(options);
#if defined(TRIDENT_WITH_CLUSTER)
  if (options.suite == "cluster") return run_cluster_suite(options);
#endif
#if TRIDENT_BENCH_MEDIA
  if (options.suite == "media") return run_media_suite(options);
#endif
  throw std::invalid_argument(fmt::format("unknown benchmark suite '{}' (valid: {})", options.suite,
                                          fmt::join(suite_names(), ", ")));
}

}  // namespace trident::bench
