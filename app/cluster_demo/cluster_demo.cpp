// `trident cluster-demo`: the lesson's "Exercise 1: Parallel Data Processor" (is each number
// prime? its square?) with a cluster_pool: on the worker ranks under mpirun, on a local process
// pool alone. The same program either way; the cluster layer decides at start-up.

#include "cluster_demo.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "exit_codes.hpp"
#include "prime_exercise.hpp"
#include "program_path.hpp"
#include "trident/cluster.hpp"
#include "trident/proc/codec.hpp"
#include "trident/proc/task_registry.hpp"

namespace trident::cli {

namespace {

using lesson::number_facts;
using lesson::process_number;  // the lesson cell's registered task, linked into this program

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// The `trident` beside this program, for a command to copy: mpirun starts every rank from it,
/// and each hands `cluster-demo` to this executable in place. This program's own path when there
/// is no `trident` beside it.
std::string this_program() {
  const auto trident = app::beside_this_program("trident");
  if (::access(trident.c_str(), X_OK) == 0) return trident.string();
  std::error_code ec;
  const auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("trident") : path.string();
}

}  // namespace

std::string mpirun_command(const std::string& program, bool as_root, int ranks) {
  return fmt::format("mpirun --oversubscribe{} -np {} {} cluster-demo", as_root ? " --allow-run-as-root" : "", ranks,
                     program);
}

int run_cluster_demo(const cluster_demo_options& options) {
  if (options.executor != "process" && options.executor != "thread") {
    throw usage_error("--executor must be 'process' or 'thread', not '" + options.executor + "'");
  }
  if (options.numbers == 0 || options.chunksize == 0) throw usage_error("--numbers and --chunksize must be at least 1");
  cluster::cluster_pool_options pool_options;
  pool_options.executor =
      options.executor == "thread" ? cluster::rank_executor::thread_pool : cluster::rank_executor::process_pool;
  pool_options.workers_per_rank = options.workers_per_rank;
  pool_options.local_workers = options.workers_per_rank;
  cluster::cluster_pool pool(pool_options);
  if (pool.distributed()) {
    std::printf("Cluster: %d MPI ranks (rank 0 drives), %zu workers on %d worker rank(s), %s pools\n", cluster::ranks(),
                pool.size(), cluster::ranks() - 1, options.executor.c_str());
  } else {
    // Alone, or one rank (`mpirun -np 1` is the same as alone): say what runs it on ranks, with
    // the flags this machine needs, since the plain `mpirun -np 3` fails as root or on 2 cores.
    const bool one_rank = std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr;
    std::printf("%s: a local process pool of %zu workers. To run it on 3 MPI ranks of this machine:\n  %s\n",
                one_rank ? "One MPI rank (mpirun -np 1 is the same as alone)" : "Alone (not under mpirun)", pool.size(),
                mpirun_command(this_program(), ::geteuid() == 0).c_str());
  }

  const std::vector<std::int64_t> lesson_numbers{104729, 104743, 104759, 104761, 104773, 104779, 104789, 104801};
  for (const auto& r : pool.map(process_number, lesson_numbers)) {
    std::printf("  %lld: prime=%s square=%s\n", static_cast<long long>(r.number), r.is_prime ? "true" : "false",
                r.square.c_str());
  }

  std::vector<std::int64_t> numbers;
  for (std::int64_t n = 1'000'000'000'039; numbers.size() < options.numbers; n += 2) numbers.push_back(n);
  auto start = std::chrono::steady_clock::now();
  std::vector<number_facts> sequential;
  sequential.reserve(numbers.size());
  for (auto n : numbers) sequential.push_back(process_number(n));
  const double sequential_s = seconds_since(start);
  std::printf("Sequential: %.3fs for %zu numbers > 10^12\n", sequential_s, numbers.size());

  const auto before = pool.statistics();
  start = std::chrono::steady_clock::now();
  const auto parallel = pool.map(process_number, numbers, options.chunksize);
  const double parallel_s = seconds_since(start);
  const auto after = pool.statistics();
  std::printf("%s (%zu workers, chunks of %zu): %.3fs, speedup %.2fx\n",
              pool.distributed() ? "Cluster" : "Process pool", pool.size(), options.chunksize, parallel_s,
              sequential_s / parallel_s);
  std::size_t primes = 0;
  for (const auto& r : parallel) primes += r.is_prime;
  std::printf("%zu of %zu numbers prime\n", primes, numbers.size());
  if (pool.distributed()) {
    std::printf("Work per rank (this run):\n");
    for (std::size_t k = 0; k < after.ranks.size(); ++k) {
      const auto& r = after.ranks[k];
      const std::size_t tasks = r.completed - (k < before.ranks.size() ? before.ranks[k].completed : 0);
      const std::size_t items = r.items - (k < before.ranks.size() ? before.ranks[k].items : 0);
      std::printf("  rank %d (pid %d on %s, %zu workers): %zu chunks, %zu numbers\n", r.rank, r.pid, r.host.c_str(),
                  r.workers, tasks, items);
    }
  }
  if (parallel != sequential) {
    std::fprintf(stderr, "trident: the parallel results differ from the sequential ones\n");
    return exit_code::some_failed;
  }
  return exit_code::ok;
}

command add_cluster_demo_command(CLI::App& app) {
  auto demo = std::make_shared<cluster_demo_options>();
  auto* cmd = app.add_subcommand(
      "cluster-demo",
      "The lesson's prime exercise on MPI ranks, or alone on a local process pool (which prints the mpirun command "
      "for this machine)");
  cmd->add_option("--numbers", demo->numbers, "Large numbers (> 10^12) to check")
      ->check(whole_number())
      ->check(CLI::Range(1, 10000000));
  cmd->add_option("--chunksize", demo->chunksize, "Numbers per message to a rank")
      ->check(whole_number())
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--workers", demo->workers_per_rank, "Workers on each rank (0: its hardware threads)")
      ->check(whole_number())
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--executor", demo->executor, "What runs tasks on a rank: process or thread")
      ->check(CLI::IsMember({"process", "thread"}));
  return {cmd, [demo] { return run_cluster_demo(*demo); }};
}

}  // namespace trident::cli
