// Writes the page of `trident bench --report` (app/bench/html_report.hpp) from stored results,
// for tests/browser/render_bench_report.py: no benchmark runs.
//
//   bench_report_page OUT.html RESULTS.json...
//
// Each RESULTS.json is one suite's results document (app/bench/results_json.hpp), the form
// `trident bench all` reads back from the suites it runs in other executables.

#include <cstdio>
#include <exception>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "html_report.hpp"
#include "results_json.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s OUT.html RESULTS.json...\n", argv[0]);
    return 2;
  }
  try {
    std::vector<trident::bench::suite_results> suites;
    for (int i = 2; i < argc; ++i) {
      std::ifstream in(argv[i]);
      if (!in) throw std::runtime_error(std::string("cannot read ") + argv[i]);
      std::stringstream text;
      text << in.rdbuf();
      suites.push_back(trident::bench::suite_results_from_json(text.str()));
    }
    trident::bench::machine_info machine = trident::bench::machine_now();
    machine.date = "2026-12-07T13:00:00Z";  // fixed, so the test can look for it
    trident::bench::write_html_report(argv[1], suites, machine);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
    return 1;
  }
  return 0;
}
