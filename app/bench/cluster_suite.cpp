// The `cluster` suite of `trident bench`: cluster_pool on MPI ranks against a process_pool with
// the same total workers, on the workloads.
//
// Method
//   1. `trident bench cluster` (alone) runs the process pool (2 workers) in this process, and
//      each cluster size as this program again under `mpirun --oversubscribe -np N`: `cluster`
//      is -np 3 (the driver and 2 worker ranks of 1 worker each), `cluster_np2` one worker rank
//      of 2 workers, `cluster_np5` 4 worker ranks of 1 worker (4 workers on this machine's
//      cores: oversubscribed where it has fewer). Every round runs each of them once, in turn.
//   2. Under mpirun, the same command measures the cluster it runs in and prints JSON lines
//      (its impl named after the job's size); each such run warms up untimed first, and the
//      mpirun start-up is outside its timings.
//   3. `cluster_3hosts` is -np 4 across simulated machines (tools/sim_hosts.sh: the driver on a
//      "head", one rank of 1 worker on each of 3 "hosts", every one in its own network and UTS
//      namespace behind a bridge, TCP between them): primes_map and empty_tasks only. It needs
//      root (namespaces); elsewhere it is noted and skipped with the reason.
//   4. Cases: primes_map (is each of 4000 odd numbers above 10^12 prime, chunks of 20: numbers
//      per second), empty_tasks (20000 calls of an empty task, one per message: tasks per
//      second), roundtrip (one empty task at a time, submit then wait: microseconds per task).

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench_suites.hpp"
#include "compare_scripts.hpp"
#include "report.hpp"
#include "runner.hpp"
#include "trident/cluster.hpp"
#include "trident/proc/process_pool.hpp"

namespace trident::bench {

namespace {

/// 1 if `n` is prime (an int, not a bool: a vector<bool> of results has no element references).
int bench_is_prime(std::int64_t n) {
  if (n < 2) return 0;
  if (n % 2 == 0) return n == 2 ? 1 : 0;
  for (std::int64_t i = 3; i * i <= n; i += 2) {
    if (n % i == 0) return 0;
  }
  return 1;
}
TRIDENT_TASK(bench_is_prime);

int bench_empty(int x) { return x; }
TRIDENT_TASK(bench_empty);

constexpr std::size_t prime_numbers = 4000;
constexpr std::size_t prime_chunk = 20;
constexpr int empty_count = 20'000;
constexpr int roundtrips = 1'000;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(fmt::format("benchmark self-check failed: {}", what));
}

const std::vector<std::int64_t>& prime_inputs() {
  static const std::vector<std::int64_t> numbers = [] {
    std::vector<std::int64_t> v;
    for (std::int64_t n = 1'000'000'000'039; v.size() < prime_numbers; n += 2) v.push_back(n);
    return v;
  }();
  return numbers;
}

template <class Pool>
double primes_map(Pool& pool) {
  const auto& numbers = prime_inputs();
  stopwatch clock;
  const std::vector<int> out = pool.map(bench_is_prime, numbers, prime_chunk);
  const double s = clock.seconds();
  check(out.size() == numbers.size(), "primes_map count");
  for (std::size_t i = 0; i < numbers.size(); i += numbers.size() / 8) {
    check(out[i] == bench_is_prime(numbers[i]), "primes_map results");
  }
  return static_cast<double>(numbers.size()) / s;
}

template <class Pool>
double empty_tasks(Pool& pool) {
  std::vector<int> items(empty_count);
  for (int i = 0; i < empty_count; ++i) items[static_cast<std::size_t>(i)] = i;
  stopwatch clock;
  const auto out = pool.map(bench_empty, items, 1);
  const double s = clock.seconds();
  check(out.size() == items.size() && out.back() == empty_count - 1, "empty_tasks results");
  return empty_count / s;
}

template <class Pool>
double roundtrip(Pool& pool) {
  stopwatch clock;
  for (int i = 0; i < roundtrips; ++i) check(pool.submit(bench_empty, i).get() == i, "roundtrip result");
  return clock.seconds() / roundtrips * 1e6;
}

template <class Pool>
struct case_def {
  std::string name;
  std::string unit;
  bool higher_is_better;
  double (*run)(Pool&);
};

template <class Pool>
std::vector<case_def<Pool>> cases() {
  return {{"primes_map", "tasks/s", true, &primes_map<Pool>},
          {"empty_tasks", "tasks/s", true, &empty_tasks<Pool>},
          {"roundtrip", "us/task", false, &roundtrip<Pool>}};
}

/// The impl name of an mpirun job of `ranks` processes (the launcher may name it instead:
/// TRIDENT_BENCH_CLUSTER_IMPL, as the simulated hosts' launch does).
std::string cluster_impl_name(int ranks) {
  if (const char* name = std::getenv("TRIDENT_BENCH_CLUSTER_IMPL"); name != nullptr && *name != '\0') return name;
  return ranks == 3 ? "cluster" : fmt::format("cluster_np{}", ranks);
}

/// Under mpirun: measures this cluster and prints JSON lines.
int run_inside_cluster(const bench_options& options) {
  const int worker_ranks = cluster::ranks() - 1;
  cluster::cluster_pool_options pool_options;
  pool_options.workers_per_rank = std::max(1, 2 / worker_ranks);
  std::optional<cluster::cluster_pool> pool;
  bench_options inner = options;
  inner.json = true;
  inner.progress = false;  // every rank would draw it
  suite_runner runner("cluster", inner, std::chrono::milliseconds(20));
  const std::string name = cluster_impl_name(cluster::ranks());
  for (const auto& c : cases<cluster::cluster_pool>()) {
    bench_case bc{{{c.name, c.unit, c.higher_is_better}}, "", {}, {}, {}};
    bc.setup = [&pool, &pool_options] {
      if (!pool) pool.emplace(pool_options);
    };
    bc.impls.push_back(std::make_shared<in_process_impl>(name, [&pool, run = c.run] { return run(*pool); }));
    runner.add(std::move(bc));
  }
  suite_results out = runner.run();
  pool.reset();
  for (const auto& n : out.notes) std::cerr << "note: " << n << '\n';
  return 0;
}

/// `mpirun` on the PATH, or "" where there is none.
std::string find_mpirun() {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  for (std::size_t start = 0; start <= dirs.size();) {
    const std::size_t end = std::min(dirs.find(':', start), dirs.size());
    const std::filesystem::path candidate = std::filesystem::path(dirs.substr(start, end - start)) / "mpirun";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    start = end + 1;
  }
  return {};
}

/// This program under `mpirun -np ranks`, measuring the selected rows.
std::shared_ptr<implementation> cluster_impl(const std::string& mpirun, int ranks) {
  return std::make_shared<external_impl>(cluster_impl_name(ranks), [mpirun, ranks](const std::vector<row_spec>& rows) {
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) throw unavailable_error("cannot find this program through /proc/self/exe");
    if (mpirun.empty()) throw unavailable_error("mpirun not found (install openmpi-bin)");
    std::string command =
        fmt::format("{} --oversubscribe{} -np {} {} bench cluster --json --repeat 1", shell_quote(mpirun),
                    ::geteuid() == 0 ? " --allow-run-as-root" : "", ranks, shell_quote(self.string()));
    for (const auto& r : rows) command += " --case " + r.name;
    return command;
  });
}

/// tools/sim_hosts.sh: TRIDENT_SIM_HOSTS, else the one of the source tree this was built from.
std::string sim_hosts_script() {
  if (const char* path = std::getenv("TRIDENT_SIM_HOSTS"); path != nullptr && *path != '\0') return path;
#if defined(TRIDENT_BENCH_SIM_HOSTS)
  return TRIDENT_BENCH_SIM_HOSTS;
#else
  return {};
#endif
}

/// This program under mpirun -np 4 on 3 simulated hosts and a head (tools/sim_hosts.sh).
std::shared_ptr<implementation> three_hosts_impl(const std::string& mpirun) {
  return std::make_shared<external_impl>("cluster_3hosts", [mpirun](const std::vector<row_spec>& rows) {
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) throw unavailable_error("cannot find this program through /proc/self/exe");
    if (mpirun.empty()) throw unavailable_error("mpirun not found (install openmpi-bin)");
    const std::string script = sim_hosts_script();
    if (script.empty() || ::access(script.c_str(), X_OK) != 0) {
      throw unavailable_error("tools/sim_hosts.sh not found (set TRIDENT_SIM_HOSTS to it)");
    }
    static const command_output check = run_command(shell_quote(script) + " check");
    if (!check.ok) {
      std::string reason = check.text;
      while (!reason.empty() && reason.back() == '\n') reason.pop_back();
      throw unavailable_error("no simulated hosts here: " + reason);
    }
    std::string inner = fmt::format(
        "$SIM_HOSTS_MPIRUN -x TRIDENT_BENCH_CLUSTER_IMPL=cluster_3hosts -np 4 {} bench cluster --json --repeat 1",
        shell_quote(self.string()));
    for (const auto& r : rows) inner += " --case " + r.name;
    return fmt::format("{} run -- sh -c {}", shell_quote(script), shell_quote(inner));
  });
}

}  // namespace

int run_cluster_suite(const bench_options& options) {
  if (cluster::is_driver()) return run_inside_cluster(options);
  suite_runner runner("cluster", options, std::chrono::milliseconds(50));
  std::optional<proc::process_pool> pool;
  const std::string mpirun = find_mpirun();
  const auto np3 = cluster_impl(mpirun, 3);
  const auto np2 = cluster_impl(mpirun, 2);
  const auto np5 = cluster_impl(mpirun, 5);
  const auto hosts3 = three_hosts_impl(mpirun);
  for (const auto& c : cases<proc::process_pool>()) {
    bench_case bc{{{c.name, c.unit, c.higher_is_better}}, "process_pool", {}, {}, {}};
    bc.setup = [&pool] {
      if (!pool) pool.emplace(2);
    };
    bc.impls.push_back(std::make_shared<in_process_impl>("process_pool", [&pool, run = c.run] { return run(*pool); }));
    bc.impls.push_back(np3);
    bc.impls.push_back(np2);
    bc.impls.push_back(np5);
    if (c.name != "roundtrip") bc.impls.push_back(hosts3);
    runner.add(std::move(bc));
  }
  runner.add_target(
      {"primes_map", "cluster", "process_pool", 0.9, ">=90% of process_pool's throughput, 2 workers each"});
  runner.note(
      fmt::format("median of {} round(s), interleaved; process_pool: 2 workers; cluster: mpirun -np 3 (2 worker "
                  "ranks x 1 worker); cluster_np2: 1 rank x 2 workers; cluster_np5: 4 ranks x 1 worker; "
                  "cluster_3hosts: 3 simulated hosts (network namespaces, TCP) x 1 worker, driver on a 4th; "
                  "rank executors are process pools",
                  options.repeat));
  suite_results out = runner.run();
  pool.reset();
  for (const char* impl : {"process_pool", "cluster"}) {
    if (const result* r = find_result(out.rows, "empty_tasks", impl)) {
      out.notes.push_back(
          fmt::format("empty_tasks: {} costs {:.1f} us of wall time per task at full pipeline", impl, 1e6 / r->value));
    }
  }
  return report_suite_results(out, options);
}

}  // namespace trident::bench
