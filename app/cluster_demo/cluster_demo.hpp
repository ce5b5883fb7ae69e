#pragma once
// `trident cluster-demo`: the lesson's prime exercise on the ranks of an MPI job
// (`mpirun --oversubscribe -np 3 trident cluster-demo`), or alone on a local process pool, which
// prints that command with the flags this machine needs.

#include <cstddef>
#include <string>

#include "command_line.hpp"

namespace trident::cli {

struct cluster_demo_options {
  std::size_t numbers = 2000;        ///< Large odd numbers (> 10^12) to check.
  std::size_t chunksize = 10;        ///< Numbers per message to a rank.
  std::size_t workers_per_rank = 0;  ///< 0: each rank's hardware threads.
  std::string executor = "process";  ///< "process" or "thread": what runs tasks on a rank.
};

/// The command that runs the demo on `ranks` MPI ranks of this machine, for `program` (the path
/// of this binary): with `--oversubscribe`, since Open MPI starts no more ranks than cores
/// ("not enough slots" on 2 cores), and `--allow-run-as-root` when `as_root`, since it refuses
/// root otherwise (containers, CI). Pure function; thread safe.
[[nodiscard]] std::string mpirun_command(const std::string& program, bool as_root, int ranks = 3);

/// Runs the demo; prints the lesson's numbers, the timing against a sequential run, and the
/// work each rank did. Returns the exit code.
int run_cluster_demo(const cluster_demo_options& options);

/// `cluster-demo [--numbers N] [--chunksize N] [--workers N] [--executor process|thread]` on `app`.
[[nodiscard]] command add_cluster_demo_command(CLI::App& app);

}  // namespace trident::cli
