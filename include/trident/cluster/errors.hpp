#pragma once
/// @file
/// The errors of the cluster layer. A task that fails on a rank comes back as the process
/// layer's error for the same event (`remote_error`, `worker_crashed_error`,
/// `task_timeout_error`), its message naming the task and the rank; an exception thrown by the
/// task is a `cluster::task_error`, which also says which rank. A rank that dies is a
/// `rank_lost_error`.

#include <string>
#include <utility>
#include <vector>

#include "trident/core/errors.hpp"
#include "trident/proc/errors.hpp"

namespace trident::cluster {

/// An exception thrown by a task on a rank: a `proc::remote_error` (type name and message of the
/// original exception) that also names the task and the rank. `what()` reads
/// "std::invalid_argument: bad input (task 'parse' on rank 2)".
class task_error : public proc::remote_error {
 public:
  task_error(std::string type_name, const std::string& message, std::string task, int rank)
      : proc::remote_error(std::move(type_name),
                           message + " (task '" + task + "' on rank " + std::to_string(rank) + ")"),
        task_(std::move(task)),
        rank_(rank) {}
  /// The name the task was registered under.
  [[nodiscard]] const std::string& task() const noexcept { return task_; }
  /// The MPI rank that ran it.
  [[nodiscard]] int rank() const noexcept { return rank_; }

 private:
  std::string task_;
  int rank_;
};

/// A rank stopped answering (its process died, or it was cut off for longer than the peer
/// timeout). Every task that was on that rank fails with this error, which names the rank and
/// the lost tasks; the pool is unusable afterwards (Open MPI 4.1 cannot replace a rank), and
/// the program exits with a non-zero status (see docs/cluster.md).
class rank_lost_error : public error {
 public:
  rank_lost_error(const std::string& message, int rank, std::vector<std::string> lost_tasks)
      : error(message), rank_(rank), lost_tasks_(std::move(lost_tasks)) {}
  /// The rank that was lost.
  [[nodiscard]] int rank() const noexcept { return rank_; }
  /// The names of the tasks that were running or waiting on it, one entry per task.
  [[nodiscard]] const std::vector<std::string>& lost_tasks() const noexcept { return lost_tasks_; }

 private:
  int rank_;
  std::vector<std::string> lost_tasks_;
};

/// The cluster could not be set up: a rank's executor did not start, or a rank did not answer
/// the driver's set-up in time.
class cluster_start_error : public error {
 public:
  using error::error;
};

}  // namespace trident::cluster
