// The `process` suite of `trident bench`: Trident's process pool, `process` and inter-process
// queue against Python's multiprocessing and concurrent.futures running the same workloads
// (app/bench/compare/process/multiprocessing_bench.py), in one run.
//
// Method
//   1. Every pool has 2 worker processes, started outside the timings (except pool_start).
//   2. The shared runner (runner.hpp): per case, Trident runs once untimed, then `repeat` rounds
//      each run Trident once and the Python script once (`--case C --repeat 1`: it starts its
//      pools and runs the case once untimed in its own process first); medians of the rounds.
//   3. Definitions are the script's (see its docstring); values are per second or per task.

#include <chrono>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench_suites.hpp"
#include "report.hpp"
#include "runner.hpp"
#include "trident/proc/process.hpp"
#include "trident/proc/process_pool.hpp"
#include "trident/proc/queue.hpp"
#include "trident/proc/shared_bytes.hpp"

namespace trident::bench {

namespace {

int trivial(int x) { return x; }
TRIDENT_TASK(trivial);

std::size_t payload_length(std::string bytes) { return bytes.size(); }
TRIDENT_TASK(payload_length);

std::size_t shared_length(proc::shared_bytes bytes) { return bytes.size(); }
TRIDENT_TASK(shared_length);

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

// map with the pool's own chunk size, as a user who passes none gets it (Python: Pool.map's
// default chunksize, which divides the same way).
double map_100k_default(proc::process_pool& pool) {
  std::vector<int> items(100'000);
  for (int i = 0; i < 100'000; ++i) items[i] = i;
  stopwatch clock;
  const auto out = pool.map(trivial, items);
  const double s = clock.seconds();
  check(out.size() == items.size() && out.back() == 99'999, "map_100k_default results");
  return 100'000 / s;
}

double submit_20k(proc::process_pool& pool) {
  stopwatch clock;
  std::vector<exec::future<int>> fs;
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

// The same 200 MiB made and written beforehand as shared_bytes, which the tasks receive without
// a copy (Python: 200 multiprocessing.shared_memory blocks, attached by name in each task).
double payload_1mb_shared(proc::process_pool& pool) {
  std::vector<proc::shared_bytes> items;
  for (int i = 0; i < 200; ++i) {
    std::memset(items.emplace_back(std::size_t{1} << 20).data(), 1, std::size_t{1} << 20);
  }
  stopwatch clock;
  const auto out = pool.map(shared_length, items, 1);
  const double s = clock.seconds();
  std::size_t total = 0;
  for (auto n : out) total += n;
  check(total == std::size_t{200} << 20, "payload_1mb_shared lengths");
  return 200.0 * (1 << 20) / 1e6 / s;
}

// The bound the payload cases are held to: one memcpy of each of the 200 MiB (from 200 separate
// blocks, as the arguments are) into a block this process reuses.
double memcpy_1mb() {
  const std::vector<std::string> items(200, std::string(std::size_t{1} << 20, '\1'));
  std::string target(std::size_t{1} << 20, '\0');
  stopwatch clock;
  for (const auto& item : items) std::memcpy(target.data(), item.data(), item.size());
  const double s = clock.seconds();
  check(target[12345] == '\1', "memcpy_1mb copy");
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
      {"map_100k_default", "tasks/s", true, &map_100k_default, 1, ">= python (no target set)"},
      {"submit_20k", "tasks/s", true, &submit_20k, 20, ">= 20x python"},
      {"roundtrip", "us/task", false, &roundtrip, 20, "<= 1/20 of python"},
      {"payload_1mb", "MB/s", true, &payload_1mb, 10, ">= 10x python"},
      {"payload_1mb_shared", "MB/s", true, &payload_1mb_shared, 1, ">= python (both share memory)"},
      {"queue_small", "msgs/s", true, &queue_small, 20, ">= 20x python"},
      {"queue_64k", "MB/s", true, &queue_64k, 5, ">= 5x python"},
      {"pool_start", "ms", false, &pool_start, 1, "<= python"},
  };
  return all;
}

}  // namespace

int run_process_suite(const bench_options& options) {
  suite_runner runner("process", options, std::chrono::milliseconds(20));
  // One pool for every case, started on first use (not for a run that only fails a --case check).
  std::optional<proc::process_pool> pool;
  const std::shared_ptr<implementation> python =
      external_impl::python_script("python", "process/multiprocessing_bench.py");
  for (const auto& c : cases()) {
    bench_case bc{{{c.name, c.unit, c.higher_is_better}}, "python", {}, {}, {}};
    bc.setup = [&pool] {
      if (!pool) pool.emplace(2);
    };
    bc.impls.push_back(std::make_shared<in_process_impl>("trident", [&pool, run = c.run] { return run(*pool); }));
    bc.impls.push_back(python);
    if (c.name.starts_with("payload_1mb")) bc.impls.push_back(std::make_shared<in_process_impl>("memcpy", &memcpy_1mb));
    runner.add(std::move(bc));
    runner.add_target({c.name, "trident", "python", c.target, c.target_text});
  }
  runner.note(
      fmt::format("median of {} round(s), trident and python interleaved; 2 worker processes everywhere; "
                  "python: multiprocessing.Pool (map, payload, start) and ProcessPoolExecutor (submit, "
                  "roundtrip)",
                  options.repeat));
  suite_results out = runner.run();
  pool.reset();

  // Zero-copy against what Python does by default (pickled bytes), and against one memcpy.
  const result* shared = find_result(out.rows, "payload_1mb_shared", "trident");
  const result* pickled = find_result(out.rows, "payload_1mb", "python");
  const result* copy = find_result(out.rows, "payload_1mb_shared", "memcpy");
  if (shared != nullptr && pickled != nullptr) {
    out.notes.push_back(fmt::format("payload_1mb_shared: {:.1f}x python's payload_1mb (bytes objects, pickled)",
                                    shared->value / pickled->value));
  }
  if (shared != nullptr && copy != nullptr) {
    out.notes.push_back(
        fmt::format("payload_1mb_shared: {:.2f}x the bandwidth of one memcpy", shared->value / copy->value));
  }
  return report_suite_results(out, options);
}

}  // namespace trident::bench
