#include "bench_suites.hpp"

#include <array>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "interruption.hpp"

namespace trident::bench {

std::span<const suite> light_suites() noexcept {
  static constexpr std::array suites{
      suite{"threads", &run_threads_suite},
      suite{"async", &run_async_suite},
      suite{"http", &run_http_suite},
      suite{"process", &run_process_suite},
  };
  return suites;
}

int run_suite(const bench_options& options, std::span<const suite> suites) {
  if (options.repeat < 1) throw std::invalid_argument(fmt::format("--repeat must be at least 1 (got {})", options.repeat));
  for (const auto& s : suites) {
    if (options.suite != s.name) continue;
    const interruption_guard stop_signals;  // before the suite starts a thread
    return s.run(options);
  }
  std::string valid;
  for (const auto& s : suites) valid += (valid.empty() ? "" : ", ") + std::string(s.name);
  throw std::invalid_argument(fmt::format("unknown benchmark suite '{}' (valid: {})", options.suite, valid));
}

}  // namespace trident::bench
