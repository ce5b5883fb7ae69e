// The cluster runtime's entry: the guard `worker_main`, which decides what this process is in
// an MPI job (alone, a worker rank, or the driver) and starts that part. The parts are cut at
// their seams: the transport both sides share (transport.hpp), a worker rank's service loop
// (rank_server.cpp) and the driver's communication thread (driver.cpp).
//
// Liveness: each side sends a heartbeat when it has sent nothing else for a heartbeat interval
// (a tenth of the peer timeout, TRIDENT_CLUSTER_TIMEOUT_MS, default 10 s). A worker rank that
// hears nothing from the driver for the timeout leaves; the driver that hears nothing from a
// rank reports it lost (see docs/cluster.md).

#include <mpi.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "runtime.hpp"
#include "transport.hpp"
#include "trident/cluster/worker_main.hpp"
#include "trident/proc/worker_main.hpp"

namespace trident::cluster {

namespace {

using namespace detail;
using namespace std::chrono_literals;

void on_sigterm(int) { g_terminating = 1; }

}  // namespace

std::optional<int> worker_main(int argc, char** argv) {
  if (auto rc = proc::worker_main(argc, argv)) return rc;
  const char* size_text = std::getenv("OMPI_COMM_WORLD_SIZE");
  if (size_text == nullptr || std::atoi(size_text) <= 1) return std::nullopt;  // alone (or one rank)
  // A process that inherited a rank's environment (started by the program, not by mpirun) is
  // not a rank: the variable names the process that is.
  const std::string self = std::to_string(::getpid());
  if (const char* owner = std::getenv("TRIDENT_CLUSTER_RANK_PID"); owner != nullptr && self != owner) {
    return std::nullopt;
  }
  ::setenv("TRIDENT_CLUSTER_RANK_PID", self.c_str(), 1);
  if (const char* timeout = std::getenv("TRIDENT_CLUSTER_TIMEOUT_MS"); timeout != nullptr && std::atol(timeout) > 0) {
    g_peer_timeout = std::chrono::milliseconds(std::atol(timeout));
  }
  g_heartbeat = std::clamp<std::chrono::milliseconds>(g_peer_timeout / 10, 20ms, 1000ms);

  int provided = 0;
  if (MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS) {
    std::fprintf(stderr, "trident cluster: MPI_Init_thread failed\n");
    return 1;
  }
  if (provided < MPI_THREAD_SERIALIZED) {
    std::fprintf(stderr, "trident cluster: this MPI library does not allow calls from more than one thread\n");
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  use_every_core();  // before any thread of ours starts: they inherit the mask
  MPI_Comm_dup(MPI_COMM_WORLD, &g_comm);
  MPI_Comm_set_errhandler(g_comm, MPI_ERRORS_RETURN);
  MPI_Comm_rank(g_comm, &g_rank);
  MPI_Comm_size(g_comm, &g_ranks);
  if (g_rank != 0) return serve_as_rank();
  g_driver = true;
  struct sigaction action {};
  action.sa_handler = &on_sigterm;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGTERM, &action, nullptr);
  start_driver();
  return std::nullopt;
}

bool is_driver() noexcept { return g_driver; }
int rank() noexcept { return g_rank; }
int ranks() noexcept { return g_ranks; }

}  // namespace trident::cluster
