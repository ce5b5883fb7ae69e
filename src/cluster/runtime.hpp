// The driver's side of the cluster runtime, as cluster_pool uses it. Private to src/cluster.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "trident/cluster/cluster_pool.hpp"
#include "trident/proc/lowlevel/job.hpp"

namespace trident::cluster::detail {

/// What a cluster_pool asks every worker rank to set up.
struct pool_config {
  rank_executor executor = rank_executor::process_pool;
  std::size_t workers_per_rank = 0;
  std::size_t tasks_in_flight_per_worker = 4;
  std::chrono::milliseconds task_timeout{0};
  bool rerun_lost_tasks = false;
  std::size_t max_attempts = 3;
};

// Rank 0 of a multi-rank job: one communication thread, started by `worker_main` and ended at
// program exit, does every MPI call; pools hand it jobs through these functions, which are all
// thread-safe.

/// Whether this process is the driver (rank 0 of a multi-rank job).
[[nodiscard]] bool driver_active() noexcept;

/// Sets up every worker rank's executor; waits until all are ready. Throws
/// `cluster_start_error`, `rank_lost_error`, or std::logic_error if a pool is open already.
void driver_open(const pool_config& config);

/// Queues jobs; throws `shutdown_error` when no pool is open, `rank_lost_error` after a loss.
void driver_enqueue(std::vector<std::unique_ptr<proc::lowlevel::job>> jobs);

/// Ends the open pool (see cluster_pool::shutdown / terminate); idempotent.
void driver_close(bool terminate, bool cancel_pending);

[[nodiscard]] cluster_pool_statistics driver_statistics();

/// Workers of all worker ranks' executors together (0 before `driver_open`).
[[nodiscard]] std::size_t driver_total_workers();

}  // namespace trident::cluster::detail
