// The `process` suite of `trident bench`: Trident's process pool, `process` and inter-process
// queue against Python's multiprocessing and concurrent.futures running the same workloads
// (benchmarks/compare/process/multiprocessing_bench.py), in one run.
//
// Method
//   1. Every pool has 2 worker processes, started outside the timings (except pool_start).
//   2. Each case runs once untimed, then `repeat` timed runs; the median is reported. The Python
//      script does the same in its own process, after Trident's rounds.
//   3. Definitions are the script's (see its docstring); values are per second or per task.

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include "bench_suites.hpp"
#include "report.hpp"
#include "trident/proc/process.hpp"
#include "trident/proc/process_pool.hpp"
#include "trident/proc/queue.hpp"

namespace trident::bench {

namespace {

int trivial(int x) { return x; }
TRIDENT_TASK(trivial);

std::size_t payload_length(std::string bytes) { return bytes.size(); }
TRIDENT_TASK(payload_length);

void produce_small(proc::queue<int> q, int count) {
  for (int i = 0; i < count; ++i) q.send(i);
  q.close();
}
TRIDENT_TASK(produce_small);

void produce_64k(proc::queue<std::string> q, int count) {
  const std::string payload(65536, 'x');
  for (int i = 0; i < count; ++i) q.send(payload);
  q.close();
}
TRIDENT_TASK(produce_64k);

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(fmt::format("benchmark self-check failed: {}", what));
}

double map_100k(proc::process_pool& pool) {
  std::vector<int> items(100'000);
  for (int i = 0; i < 100'000; ++i) items[i] = i;
  stopwatch clock;
  const auto out = pool.map(trivial, items, 1);
  const double s = clock.seconds();
  check(out.size() == items.size() && out.back() == 99'999, "map_100k results");
  return 100'000 / s;
}

double submit_20k(proc::process_pool& pool) {
  stopwatch clock;
  std::vector<future<int>> fs;
  fs.reserve(20'000);
  for (int i = 0; i < 20'000; ++i) fs.push_back(pool.submit(trivial, i));
  long long sum = 0;
  for (auto& f : fs) sum += f.get();
  const double s = clock.seconds();
  check(sum == 19'999LL * 20'000 / 2, "submit_20k results");
  return 20'000 / s;
}

double roundtrip(proc::process_pool& pool) {
  stopwatch clock;
  for (int i = 0; i < 2'000; ++i) check(pool.submit(trivial, i).get() == i, "roundtrip result");
  return clock.seconds() / 2'000 * 1e6;
}

double payload_1mb(proc::process_pool& pool) {
  const std::vector<std::string> items(200, std::string(std::size_t{1} << 20, '\0'));
  stopwatch clock;
  const auto out = pool.map(payload_length, items, 1);
  const double s = clock.seconds();
  std::size_t total = 0;
  for (auto n : out) total += n;
  check(total == std::size_t{200} << 20, "payload_1mb lengths");
  return 200.0 * (1 << 20) / 1e6 / s;
}

double queue_small(proc::process_pool&) {
  proc::queue<int> q(64);
  proc::process producer(produce_small, q, 200'000);
  stopwatch clock;
  producer.start();
  int n = 0;
  while (q.receive()) ++n;
  const double s = clock.seconds();
  producer.join();
  check(n == 200'000, "queue_small count");
  return 200'000 / s;
}

double queue_64k(proc::process_pool&) {
  proc::queue<std::string> q(64, 65536 + 64);
  proc::process producer(produce_64k, q, 2'000);
  stopwatch clock;
  producer.start();
  int n = 0;
  while (auto v = q.receive()) n += v->size() == 65536;
  const double s = clock.seconds();
  producer.join();
  check(n == 2'000, "queue_64k count");
  return 2'000 * 65536 / 1e6 / s;
}

double pool_start(proc::process_pool&) {
  stopwatch clock;
  proc::process_pool fresh(2);
  check(fresh.submit(trivial, 1).get() == 1, "pool_start result");
  return clock.seconds() * 1e3;
}

struct case_def {
  std::string name;
  std::string unit;
  bool higher_is_better;
  double (*run)(proc::process_pool&);
  double target;  ///< versus python: ratio (higher_is_better) or fraction of Python's value
  const char* target_text;
};

const std::vector<case_def>& cases() {
  static const std::vector<case_def> all{
      {"map_100k", "tasks/s", true, &map_100k, 20, ">= 20x python"},
      {"submit_20k", "tasks/s", true, &submit_20k, 20, ">= 20x python"},
      {"roundtrip", "us/task", false, &roundtrip, 20, "<= 1/20 of python"},
      {"payload_1mb", "MB/s", true, &payload_1mb, 10, ">= 10x python"},
      {"queue_small", "msgs/s", true, &queue_small, 20, ">= 20x python"},
      {"queue_64k", "MB/s", true, &queue_64k, 5, ">= 5x python"},
      {"pool_start", "ms", false, &pool_start, 1, "<= python"},
  };
  return all;
}

std::vector<result> run_python(const std::vector<std::string>& names, int repeat, std::vector<std::string>& notes) {
  std::string cmd = fmt::format("{} {} --repeat {}", shell_quote(python_interpreter()),
                                shell_quote(compare_script("process/multiprocessing_bench.py")), repeat);
  for (const auto& n : names) cmd += " --case " + n;
  const script_output script = run_script(cmd);
  std::vector<result> rows;
  for (const auto& r : script.rows) rows.push_back(result{"process", r.case_name, "python", r.value, r.unit, true, ""});
  if (!script.ok) notes.push_back(fmt::format("{}; python rows may be missing", script.failure));
  return rows;
}

}  // namespace

int run_process_suite(const bench_options& options) {
  std::vector<std::string> valid;
  for (const auto& c : cases()) valid.push_back(c.name);
  for (const auto& c : options.cases) {
    if (std::find(valid.begin(), valid.end(), c) == valid.end()) {
      throw std::invalid_argument(fmt::format("unknown case '{}' for suite 'process' (valid: {})", c, fmt::join(valid, ", ")));
    }
  }
  const auto wanted = [&](const std::string& c) {
    return options.cases.empty() || std::find(options.cases.begin(), options.cases.end(), c) != options.cases.end();
  };
  std::vector<std::string> notes;
  notes.push_back(fmt::format("median of {} run(s) after one untimed run; 2 worker processes everywhere; python: "
                              "multiprocessing.Pool (map, payload, start) and ProcessPoolExecutor (submit, roundtrip)",
                              options.repeat));

  std::vector<result> trident_rows;
  std::vector<std::string> names;
  {
    proc::process_pool pool(2);
    for (const auto& c : cases()) {
      if (!wanted(c.name)) continue;
      names.push_back(c.name);
      (void)c.run(pool);
      std::vector<double> samples;
      for (int r = 0; r < options.repeat; ++r) samples.push_back(c.run(pool));
      result row{"process", c.name, "trident", median(samples), c.unit, c.higher_is_better, "python"};
      if (options.json) {
        print_json_line(std::cout, row);
        std::cout.flush();
      }
      trident_rows.push_back(row);
    }
  }
  auto python_rows = run_python(names, options.repeat, notes);

  std::vector<result> rows;
  for (const auto& c : cases()) {
    if (!wanted(c.name)) continue;
    const result* mine = nullptr;
    const result* theirs = nullptr;
    for (const auto& r : trident_rows) mine = r.case_name == c.name ? &r : mine;
    for (auto& r : python_rows) {
      if (r.case_name == c.name) {
        r.higher_is_better = c.higher_is_better;
        theirs = &r;
      }
    }
    if (mine != nullptr) rows.push_back(*mine);
    if (theirs != nullptr) {
      if (options.json) print_json_line(std::cout, *theirs);
      rows.push_back(*theirs);
    }
    if (mine != nullptr && theirs != nullptr) {
      const double ratio = c.higher_is_better ? mine->value / theirs->value : theirs->value / mine->value;
      notes.push_back(fmt::format("{}: {:.1f}x python (target {}): {}", c.name, ratio, c.target_text,
                                  ratio >= c.target ? "met" : "NOT met"));
    }
  }
  if (options.json) {
    for (const auto& n : notes) std::cerr << "note: " << n << '\n';
  } else {
    print_table(std::cout, rows, notes);
  }
  return 0;
}

}  // namespace trident::bench
