// The cluster runtime's transport (transport.hpp): MPI sends and receives that never block, the
// job's shape, and the host facts both sides need.

#include "transport.hpp"

#include <sched.h>
#include <unistd.h>

#include <tuple>
#include <utility>

#include "trident/proc/codec.hpp"
#include "trident/proc/lowlevel.hpp"

namespace trident::cluster::detail {

int g_rank = 0;
int g_ranks = 1;
bool g_driver = false;
MPI_Comm g_comm = MPI_COMM_NULL;
std::chrono::milliseconds g_peer_timeout{10000};
std::chrono::milliseconds g_heartbeat{1000};
volatile std::sig_atomic_t g_terminating = 0;

const std::vector<std::string>& launcher_environment() {
  static const std::vector<std::string> prefixes{"OMPI_", "PMIX_", "OPAL_", "PRTE_"};
  return prefixes;
}

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "?";
  return name;
}

void use_every_core() {
  cpu_set_t all;
  CPU_ZERO(&all);
  const long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  for (long c = 0; c < cpus && c < CPU_SETSIZE; ++c) CPU_SET(static_cast<int>(c), &all);
  (void)::sched_setaffinity(0, sizeof all, &all);
}

bool send_queue::post(int dest, int tag, std::string bytes) {
  auto s = std::make_unique<pending>();
  s->bytes = std::move(bytes);
  const int rc =
      MPI_Isend(s->bytes.data(), static_cast<int>(s->bytes.size()), MPI_BYTE, dest, tag, g_comm, &s->request);
  if (rc != MPI_SUCCESS) return false;
  // Open MPI moves a message on only inside MPI calls: test it at once, or it would wait for
  // the end of this loop's idle sleep.
  int done = 0;
  if (MPI_Test(&s->request, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS || done != 0) return true;
  sends_.push_back(std::move(s));
  return true;
}

void send_queue::progress() {
  std::erase_if(sends_, [](std::unique_ptr<pending>& s) {
    int done = 0;
    if (MPI_Test(&s->request, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS) return true;  // peer gone
    return done != 0;
  });
}

void send_queue::abandon() {
  for (auto& s : sends_) (void)s.release();  // MPI may still read the buffer: never free it
  sends_.clear();
}

std::optional<message> try_receive(int source) {
  int flag = 0;
  MPI_Status status;
  if (MPI_Iprobe(source, MPI_ANY_TAG, g_comm, &flag, &status) != MPI_SUCCESS || flag == 0) return std::nullopt;
  int count = 0;
  MPI_Get_count(&status, MPI_BYTE, &count);
  message m;
  m.source = status.MPI_SOURCE;
  m.tag = status.MPI_TAG;
  m.bytes.resize(static_cast<std::size_t>(count));
  if (MPI_Recv(m.bytes.data(), count, MPI_BYTE, m.source, m.tag, g_comm, MPI_STATUS_IGNORE) != MPI_SUCCESS) {
    return std::nullopt;
  }
  return m;
}

std::string encode_outcome_exception(std::exception_ptr error) {
  auto [type, text] = proc::lowlevel::describe_exception(std::move(error));
  return proc::encode(std::make_tuple(type, text));
}

}  // namespace trident::cluster::detail
