// A program for the cluster tests: run alone or under `mpirun -np N`, it plays one case (argv[1])
// and prints what the test checks. Exit status 0 when the case's own checks pass.

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "trident/aio/run.hpp"
#include "trident/aio/task.hpp"
#include "trident/cluster.hpp"
#include "trident/exec/as_completed.hpp"
#include "trident/proc/worker_main.hpp"

namespace {

std::int64_t square(std::int64_t x) { return x * x; }
TRIDENT_TASK(square);

int fails_for_odd(int x) {
  if (x % 2 != 0) throw std::invalid_argument("odd input " + std::to_string(x));
  return x;
}
TRIDENT_TASK(fails_for_odd);

/// Sleeps `ms` milliseconds and returns the PID of the process that ran it.
int sleepy_pid(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return trident::proc::current_pid();
}
TRIDENT_TASK(sleepy_pid);

int crashes(int x) {
  if (x == 3) ::raise(SIGSEGV);
  return x;
}
TRIDENT_TASK(crashes);

/// Kills the process that runs it: with a thread-pool executor, the rank itself.
int kills_its_process(int) {
  ::raise(SIGKILL);
  return 0;
}
TRIDENT_TASK(kills_its_process);

/// Stops the process that runs it (SIGSTOP): with a thread-pool executor, the rank goes silent
/// without dying, as a hung machine or a cut network would.
int stops_its_process(int) {
  ::raise(SIGSTOP);
  return 0;
}
TRIDENT_TASK(stops_its_process);

/// Mixes the bits of `x` (splitmix64's finaliser): results that differ for every input, for a
/// digest that any wrong, missing or reordered result changes.
std::int64_t mix(std::int64_t x) {
  auto z = static_cast<std::uint64_t>(x) + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return static_cast<std::int64_t>(z ^ (z >> 31));
}
TRIDENT_TASK(mix);

/// Sleeps `ms` milliseconds, then returns `i` squared (a slow task with a checkable result).
std::int64_t slow_square(std::int64_t i, int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return i * i;
}
TRIDENT_TASK(slow_square);

std::int64_t slow_square_25ms(std::int64_t i) { return slow_square(i, 25); }
TRIDENT_TASK(slow_square_25ms);

/// Whether the process that runs it sees the MPI launcher's environment.
int sees_launcher_environment(int) {
  return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr || std::getenv("PMIX_RANK") != nullptr ? 1 : 0;
}
TRIDENT_TASK(sees_launcher_environment);

int failures = 0;
void check(bool ok, const std::string& what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAILED", what.c_str());
  if (!ok) ++failures;
}

trident::aio::task<std::int64_t> square_on_loop(trident::cluster::cluster_pool& pool, std::int64_t x) {
  auto r = co_await trident::aio::run_in(pool, square, x);
  co_return r;
}

int results(trident::cluster::cluster_pool& pool, bool process_executor) {
  std::vector<std::int64_t> numbers;
  for (std::int64_t i = 0; i < 200; ++i) numbers.push_back(i);
  std::vector<std::int64_t> expected;
  for (auto n : numbers) expected.push_back(n * n);
  check(pool.submit(square, std::int64_t{12}).get() == 144, "submit");
  check(pool.map(square, numbers) == expected, "map, chunksize 1");
  check(pool.map(square, numbers, 7) == expected, "map, chunksize 7");
  std::vector<std::int64_t> ordered;
  for (auto r : pool.imap(square, numbers, 5)) ordered.push_back(r);
  check(ordered == expected, "imap");
  std::multiset<std::int64_t> unordered;
  for (auto r : pool.imap_unordered(square, numbers, 3)) unordered.insert(r);
  check(unordered == std::multiset<std::int64_t>(expected.begin(), expected.end()), "imap_unordered");
  std::vector<trident::exec::future<std::int64_t>> futures;
  for (std::int64_t i = 0; i < 20; ++i) futures.push_back(pool.submit(square, i));
  std::int64_t sum = 0;
  for (auto& f : trident::exec::as_completed(futures)) sum += f.get();
  check(sum == 2470, "as_completed");
  const std::int64_t x = 9;
  check(trident::aio::run(square_on_loop(pool, x)) == 81, "aio::run_in");
  if (pool.distributed() && process_executor) {
    const auto seen = pool.map(sees_launcher_environment, std::vector<int>(8, 0));
    check(std::find(seen.begin(), seen.end(), 1) == seen.end(),
          "the ranks' worker processes do not inherit OMPI_*/PMIX_* variables");
  }
  return 0;
}

int exceptions(trident::cluster::cluster_pool& pool) {
  auto f = pool.submit(fails_for_odd, 3);
  try {
    (void)f.get();
    check(false, "the task's exception comes back");
  } catch (const trident::proc::remote_error& e) {
    std::printf("error: %s\n", e.what());
    check(e.type_name() == "std::invalid_argument", "the exception's type comes back: " + e.type_name());
    if (pool.distributed()) {
      const auto* ce = dynamic_cast<const trident::cluster::task_error*>(&e);
      check(ce != nullptr && ce->task() == "fails_for_odd" && ce->rank() > 0, "the error names the task and the rank");
    }
  }
  try {
    (void)pool.map(fails_for_odd, std::vector<int>{2, 4, 5, 6}, 2);
    check(false, "map rethrows");
  } catch (const trident::proc::remote_error& e) {
    check(std::string(e.what()).find("odd input 5") != std::string::npos, std::string("map rethrows: ") + e.what());
  }
  check(pool.submit(fails_for_odd, 4).get() == 4, "the pool works after an exception");
  return 0;
}

int uneven(trident::cluster::cluster_pool& pool) {
  // One long task and many short ones: dynamic scheduling sends the short ones elsewhere.
  std::vector<int> delays{600};
  for (int i = 0; i < 40; ++i) delays.push_back(10);
  const auto start = std::chrono::steady_clock::now();
  const auto pids = pool.map(sleepy_pid, delays);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  check(pids.size() == delays.size(), "every task came back");
  std::printf("uneven: %.3f s, %zu distinct worker processes\n", seconds,
              std::set<int>(pids.begin(), pids.end()).size());
  const auto stats = pool.statistics();
  std::size_t busy_ranks = 0;
  for (const auto& r : stats.ranks) {
    std::printf("rank %d: %zu tasks\n", r.rank, r.completed);
    busy_ranks += r.completed > 0;
  }
  if (pool.distributed()) {
    check(busy_ranks == stats.ranks.size(), "every rank did some of the work");
    std::size_t long_rank_tasks = 0;
    std::size_t most = 0;
    for (const auto& r : stats.ranks) most = std::max(most, r.completed);
    long_rank_tasks = most;
    check(long_rank_tasks < delays.size(), "the short tasks did not all wait behind the long one");
  }
  return 0;
}

int crash(trident::cluster::cluster_pool& pool) {
  std::vector<trident::exec::future<int>> futures;
  for (int i = 0; i < 6; ++i) futures.push_back(pool.submit(crashes, i));
  for (int i = 0; i < 6; ++i) {
    try {
      const int v = futures[static_cast<std::size_t>(i)].get();
      check(i != 3 && v == i, "task " + std::to_string(i) + " ran");
    } catch (const trident::proc::worker_crashed_error& e) {
      std::printf("error: %s\n", e.what());
      check(i == 3, "only the crashing task fails");
      check(std::string(e.what()).find("crashes") != std::string::npos, "the crash names the task");
      if (pool.distributed())
        check(std::string(e.what()).find("on rank") != std::string::npos, "the crash names the rank");
    }
  }
  check(pool.submit(crashes, 4).get() == 4, "the pool works after a crash");
  return 0;
}

int kill_rank(trident::cluster::cluster_pool& pool, bool stop_only) {
  // The killer first, so that it runs at once; then tasks that would run for a minute.
  auto killer = stop_only ? pool.submit(stops_its_process, 0) : pool.submit(kills_its_process, 0);
  std::vector<trident::exec::future<int>> slow;
  for (int i = 0; i < 4; ++i) slow.push_back(pool.submit(sleepy_pid, 60000));
  try {
    (void)killer.get();
  } catch (const trident::cluster::rank_lost_error& e) {
    std::printf("caught: %s\n", e.what());
  }
  for (auto& f : slow) {
    try {
      (void)f.get();
    } catch (const std::exception& e) {
      std::printf("slow task: %s\n", e.what());
    }
  }
  return 0;  // the cluster layer turns this into a non-zero exit status
}

/// A map of `count` tasks (one per message) whose digest the test compares between runs: alone,
/// on ranks of one machine, on simulated hosts.
int map_digest(trident::cluster::cluster_pool& pool, std::int64_t count) {
  std::vector<std::int64_t> numbers;
  for (std::int64_t i = 0; i < count; ++i) numbers.push_back(i);
  const auto results = pool.map(mix, numbers);
  std::uint64_t digest = 1469598103934665603ULL;  // FNV-1a over the results, in order
  bool all_right = results.size() == numbers.size();
  for (std::size_t i = 0; i < results.size(); ++i) {
    all_right = all_right && results[i] == mix(numbers[i]);
    digest = (digest ^ static_cast<std::uint64_t>(results[i])) * 1099511628211ULL;
  }
  check(all_right, "every result of the map is the task's value for its input, in order");
  std::printf("digest: %016llx over %zu results\n", static_cast<unsigned long long>(digest), results.size());
  if (pool.distributed()) {
    for (const auto& r : pool.statistics().ranks)
      std::printf("rank %d on %s: %zu tasks\n", r.rank, r.host.c_str(), r.completed);
  }
  return 0;
}

/// A map that a test cuts short by taking a host away (its cable or its ranks): prints
/// "map: started", then either the map's results (with re-runnable tasks) or the error.
int lose_host(trident::cluster::cluster_pool& pool, bool rerun) {
  std::vector<std::int64_t> numbers;
  for (std::int64_t i = 0; i < 400; ++i) numbers.push_back(i);
  std::printf("map: started\n");
  std::fflush(stdout);
  try {
    const auto results = pool.map(slow_square_25ms, numbers);
    bool all_right = results.size() == numbers.size();
    for (std::size_t i = 0; i < results.size(); ++i) all_right = all_right && results[i] == numbers[i] * numbers[i];
    check(all_right, "the map completed with every result right");
    const auto stats = pool.statistics();
    std::size_t lost_ranks = 0;
    for (const auto& r : stats.ranks) lost_ranks += r.alive ? 0 : 1;
    std::printf("map: complete, %zu results, %zu task(s) re-run, %zu rank(s) lost\n", results.size(), stats.rerun,
                lost_ranks);
    check(!rerun || (stats.rerun > 0 && lost_ranks == 1), "the lost rank's tasks were re-run on the others");
  } catch (const trident::cluster::rank_lost_error& e) {
    std::printf("map: failed: rank %d lost, %zu task(s) named: %s\n", e.rank(), e.lost_tasks().size(), e.what());
    check(!rerun, "with re-runnable tasks the map completes");
  }
  return 0;
}

/// Prints the PIDs of the ranks and of the worker processes that ran tasks, for the test to
/// check that none is left after mpirun returns.
int shutdown(trident::cluster::cluster_pool& pool) {
  std::vector<int> delays(24, 20);
  for (int pid : pool.map(sleepy_pid, delays)) std::printf("pid %d\n", pid);
  for (const auto& r : pool.statistics().ranks) std::printf("pid %d\n", r.pid);
  std::printf("pid %d\n", static_cast<int>(::getpid()));
  pool.shutdown();
  // A second pool on the same ranks after the first one ended.
  trident::cluster::cluster_pool again;
  check(again.submit(square, std::int64_t{5}).get() == 25, "a second pool after shutdown");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (auto rc = trident::cluster::worker_main(argc, argv)) return *rc;
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: %s results|exceptions|uneven|crash|kill_rank|silent_rank|long_run|shutdown [threads]\n"
                 "       %s map_digest [count] | lose_host [rerun]\n",
                 argv[0], argv[0]);
    return 2;
  }
  const std::string mode = argv[1];
  trident::cluster::cluster_pool_options options;
  options.workers_per_rank = 2;
  options.local_workers = 2;
  if (argc > 2 && std::strcmp(argv[2], "threads") == 0) options.executor = trident::cluster::rank_executor::thread_pool;
  const bool rerun = argc > 2 && std::strcmp(argv[2], "rerun") == 0;
  if (mode == "lose_host") {
    options.workers_per_rank = 1;
    options.tasks_in_flight_per_worker = 2;
    options.rerun_lost_tasks = rerun;
  }
  trident::cluster::cluster_pool pool(options);
  std::printf("driver: %s, %d rank(s), %zu workers\n", pool.distributed() ? "cluster" : "alone",
              trident::cluster::ranks(), pool.size());
  std::fflush(stdout);
  int rc = 2;
  if (mode == "results") rc = results(pool, options.executor == trident::cluster::rank_executor::process_pool);
  if (mode == "exceptions") rc = exceptions(pool);
  if (mode == "uneven") rc = uneven(pool);
  if (mode == "crash") rc = crash(pool);
  if (mode == "map_digest") rc = map_digest(pool, argc > 2 ? std::atoll(argv[2]) : 10000);
  if (mode == "lose_host") rc = lose_host(pool, rerun);
  if (mode == "kill_rank") rc = kill_rank(pool, false);
  if (mode == "long_run") {
    std::vector<int> delays(400, 100);  // 10 s of work on 4 workers: interrupted by the test
    rc = pool.map(sleepy_pid, delays).size() == delays.size() ? 0 : 1;
  }
  if (mode == "roundtrip") {  // not a test: latency of one task at a time, for tuning
    const auto start = std::chrono::steady_clock::now();
    bool all_right = true;
    for (std::int64_t i = 0; i < 300; ++i) all_right = all_right && pool.submit(square, i).get() == i * i;
    check(all_right, "roundtrip results");
    std::printf("roundtrip: %.1f us\n",
                std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / 300);
    rc = 0;
  }
  if (mode == "driver_cpu") {  // not a test: the driver's own CPU time, idle and during a map
    const auto cpu_ms = [] {
      rusage u{};
      ::getrusage(RUSAGE_SELF, &u);
      return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
    };
    double before = cpu_ms();
    std::this_thread::sleep_for(std::chrono::seconds(2));
    std::printf("driver cpu idle: %.1f ms in 2 s\n", cpu_ms() - before);
    std::vector<int> delays(200, 20);  // 4 s of work on 2 workers
    before = cpu_ms();
    const auto start = std::chrono::steady_clock::now();
    check(pool.map(sleepy_pid, delays).size() == delays.size(), "map");
    std::printf("driver cpu during map: %.1f ms in %.1f s\n", cpu_ms() - before,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    rc = 0;
  }
  if (mode == "silent_rank") rc = kill_rank(pool, true);
  if (mode == "shutdown") {
    pool.shutdown();
    trident::cluster::cluster_pool first(options);
    rc = shutdown(first);
  }
  if (rc == 0 && failures > 0) rc = 1;
  std::printf("done: %s\n", rc == 0 ? "passed" : "failed");
  return rc;
}
