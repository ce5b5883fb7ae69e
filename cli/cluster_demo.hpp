#pragma once
// `trident cluster-demo`: the lesson's prime exercise on the ranks of an MPI job
// (`mpirun -np 3 trident cluster-demo`), or alone on a local process pool.

#include <cstddef>
#include <string>

namespace trident::cli {

struct cluster_demo_options {
  std::size_t numbers = 2000;        ///< Large odd numbers (> 10^12) to check.
  std::size_t chunksize = 10;        ///< Numbers per message to a rank.
  std::size_t workers_per_rank = 0;  ///< 0: each rank's hardware threads.
  std::string executor = "process";  ///< "process" or "thread": what runs tasks on a rank.
};

/// Runs the demo; prints the lesson's numbers, the timing against a sequential run, and the
/// work each rank did. Returns the exit code.
int run_cluster_demo(const cluster_demo_options& options);

}  // namespace trident::cli
