#include "bench_suites.hpp"

#include <array>
#include <cstdio>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "html_report.hpp"
#include "interruption.hpp"
#include "report.hpp"
#include "results_json.hpp"

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
  if (options.repeat < 1)
    throw std::invalid_argument(fmt::format("--repeat must be at least 1 (got {})", options.repeat));
  for (const auto& s : suites) {
    if (options.suite != s.name) continue;
    if (options.report.empty() && options.results.empty()) {
      const interruption_guard stop_signals;  // before the suite starts a thread
      return s.run(options);
    }
    machine_info machine = machine_now();
    std::vector<suite_results> measured;
    bench_options with_sink = options;
    with_sink.on_results = [&measured, &options](const suite_results& r) {
      measured.push_back(r);
      if (options.on_results) options.on_results(r);
    };
    int rc = 0;
    {
      const interruption_guard stop_signals;
      rc = s.run(with_sink);
    }
    machine.load_after = load_average_now();
    if (!options.results.empty() && !measured.empty())
      write_file_atomically(options.results, to_json(measured.front()));
    if (!options.report.empty()) {
      write_html_report(options.report, measured, machine);
      std::fprintf(stderr, "report written to %s (open it in a web browser)\n", options.report.c_str());
    }
    return rc;
  }
  std::string valid;
  for (const auto& s : suites) valid += (valid.empty() ? "" : ", ") + std::string(s.name);
  throw std::invalid_argument(fmt::format("unknown benchmark suite '{}' (valid: {})", options.suite, valid));
}

}  // namespace trident::bench
