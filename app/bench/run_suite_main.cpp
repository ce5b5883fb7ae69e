// trident_bench_run SUITE [--case NAME]... [--json] [--repeat N]
// The suites of `trident bench` without the CLI (for benchmark work while the CLI is not built).

#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>

#include "bench_suites.hpp"
#include "service_process.hpp"
#include "trident/proc/worker_main.hpp"

int main(int argc, char** argv) {
  // The process suite re-executes this binary as its workers.
  if (auto rc = trident::proc::worker_main(argc, argv)) return *rc;
  // The scenarios suite starts services (loopback server, PostgreSQL) that re-execute it too.
  if (auto rc = trident::scenarios::service_main(argc, argv)) return *rc;
  trident::bench::bench_options options;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      if (arg == "--json") {
        options.json = true;
      } else if (arg == "--case" && i + 1 < argc) {
        options.cases.emplace_back(argv[++i]);
      } else if (arg == "--repeat" && i + 1 < argc) {
        options.repeat = std::stoi(argv[++i]);
      } else if (i == 1 && arg == "bench") {
        // `trident bench SUITE` spelling: the async suite re-executes this program that way for
        // its echo server, whichever of the two programs it is.
      } else if (options.suite.empty() && !arg.starts_with("-")) {
        options.suite = arg;
      } else {
        std::cerr << "usage: " << argv[0] << " SUITE [--case NAME]... [--json] [--repeat N]\n";
        return 2;
      }
    }
    if (options.suite.empty()) options.suite = "threads";
    return trident::bench::run_suite(options);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
}
