#pragma once
/// @file
/// The cluster layer's guard: the first word a program gives Trident, so that the same binary
/// runs alone (`./app`: a local process pool), under `mpirun -np N ./app` (rank 0 drives, the
/// other ranks serve tasks), and as the worker processes either starts.
///
/// @code
///   int main(int argc, char** argv) {
///     if (auto rc = trident::cluster::worker_main(argc, argv)) return *rc;
///     trident::cluster::cluster_pool pool;   // a local pool alone, the cluster under mpirun
///     ...
///   }
/// @endcode
///
/// It wraps `proc::worker_main` (a worker process of a pool serves tasks and never reaches MPI),
/// then looks at the environment: a process started by Open MPI's `mpirun` with more than one
/// rank initialises MPI. Rank 0 returns `std::nullopt` and runs the program; every other rank
/// serves the driver's tasks until the driver lets it go, then returns the exit code `main`
/// should return. A process that only inherited a launcher's environment (a child of a rank)
/// does not take itself for a rank.

#include <optional>

namespace trident::cluster {

/// See the file comment. Call it first thing in `main`, before any thread starts.
///
/// @par Thread safety
/// Call once, from `main`'s thread.
[[nodiscard]] std::optional<int> worker_main(int argc, char** argv);

/// Whether this process is rank 0 of an MPI job of more than one rank (after `worker_main`).
[[nodiscard]] bool is_driver() noexcept;

/// This process's MPI rank (0 when running alone). Thread-safe.
[[nodiscard]] int rank() noexcept;

/// The number of ranks in the job (1 when running alone). Thread-safe.
[[nodiscard]] int ranks() noexcept;

}  // namespace trident::cluster
