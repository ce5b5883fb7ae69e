#pragma once
// The cluster runtime's transport, shared by the driver (driver.cpp) and the worker ranks
// (rank_server.cpp): the MPI communicator and the job's shape, non-blocking sends and receives,
// and idle waiting without spinning in MPI. Private to src/cluster.
//
// Every rank talks over a duplicate of MPI_COMM_WORLD with MPI_ERRORS_RETURN, so a peer that
// died makes a call fail instead of aborting the job. No MPI call blocks: messages are found with
// MPI_Iprobe and sent with MPI_Isend (two large sends crossing each other would deadlock with a
// blocking MPI_Send), and an idle loop sleeps with backoff instead of spinning in MPI, which on a
// small machine would take a worker's core.
//
// Thread safety: the variables are written once by `worker_main`, before any thread of the
// runtime starts, and only read afterwards. The classes are used by one thread each (the
// driver's communication thread, or a rank's service loop).

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace trident::cluster::detail {

using clock = std::chrono::steady_clock;

extern int g_rank;
extern int g_ranks;
extern bool g_driver;
extern MPI_Comm g_comm;
/// How long a peer may stay silent before it counts as lost (TRIDENT_CLUSTER_TIMEOUT_MS).
extern std::chrono::milliseconds g_peer_timeout;
/// How long a side may send nothing before it sends a heartbeat: a tenth of the timeout.
extern std::chrono::milliseconds g_heartbeat;
/// Set by the driver's SIGTERM handler: mpirun is ending the job (a rank died, or mpirun itself
/// was interrupted); it sends SIGKILL a second later.
extern volatile std::sig_atomic_t g_terminating;

/// Environment variables of the launcher that a rank's worker processes must not inherit.
const std::vector<std::string>& launcher_environment();

/// This host's name, or "?".
std::string host_name();

/// mpirun binds each rank to a core by default (with 2 ranks or fewer), and what a rank starts
/// inherits the binding. A rank's executor is meant to use the whole machine (one rank per
/// machine), and the driver is the user's program: both may run on every online CPU again.
/// Where a cpuset forbids that, the binding stays.
void use_every_core();

/// Idle waiting, without spinning in MPI: a few yields right after activity (a reply is often
/// microseconds away), then sleeps. How long a sleep may be is the caller's `cap`: short while a
/// message is due soon, long while nothing is expected. Each sleep doubles, from 20 µs to `cap`.
class backoff {
 public:
  void reset() noexcept { idle_ = 0; }
  /// How long to wait now; zero means yield.
  std::chrono::microseconds next(std::chrono::microseconds cap) noexcept {
    ++idle_;
    if (idle_ <= 8) return std::chrono::microseconds(0);
    const auto pause = std::chrono::microseconds(20 << std::min(idle_ - 9, 10));
    return std::min(pause, cap);
  }

 private:
  int idle_ = 0;
};

/// A running average of how long something takes (a task's round trip, as the driver sees it).
class moving_average {
 public:
  void add(std::chrono::nanoseconds sample) noexcept {
    value_ = value_.count() == 0 ? sample : (value_ * 7 + sample) / 8;
  }
  [[nodiscard]] std::chrono::nanoseconds value() const noexcept { return value_; }

 private:
  std::chrono::nanoseconds value_{0};
};

/// Sends in progress: the buffer must live until MPI is done with it.
class send_queue {
 public:
  /// Starts sending `bytes` to `dest`; false if MPI refused at once (the peer is gone).
  bool post(int dest, int tag, std::string bytes);
  /// Lets MPI progress and frees what it finished.
  void progress();
  [[nodiscard]] bool empty() const noexcept { return sends_.empty(); }
  /// Gives up on sends that cannot finish (their peer is gone); the requests are left to MPI.
  void abandon();

 private:
  struct pending {
    MPI_Request request = MPI_REQUEST_NULL;
    std::string bytes;
  };
  std::vector<std::unique_ptr<pending>> sends_;
};

/// A message that arrived.
struct message {
  int source = 0;
  int tag = 0;
  std::string bytes;
};

/// A message that arrived, if any (from `source`, MPI_ANY_SOURCE for any).
std::optional<message> try_receive(int source);

/// An exception as a task's failure travels: its type and message, encoded.
std::string encode_outcome_exception(std::exception_ptr error);

/// A worker rank (not rank 0): serves the driver's tasks on a local process or thread pool
/// until the driver says stop or is lost. Returns the process's exit code (rank_server.cpp).
int serve_as_rank();

/// Rank 0: starts the driver's communication thread, which lives until exit (driver.cpp).
void start_driver();

}  // namespace trident::cluster::detail
