// The messages between the driver (rank 0) and the worker ranks: MPI tags, and the fixed headers
// in front of task and result bytes. Private to src/cluster.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace trident::cluster::detail {

/// MPI tags, on the layer's own communicator (a duplicate of MPI_COMM_WORLD).
enum tag : int {
  // driver -> worker rank
  tag_config = 1,     ///< encode(executor, workers, task_timeout_ms): start an executor.
  tag_task = 2,       ///< task_header, then the encoded call.
  tag_stop = 3,       ///< encode(terminate): stop the executor, answer tag_stopped.
  tag_exit = 4,       ///< encode(abort): leave (finalising MPI unless abort).
  // both ways
  tag_heartbeat = 5,  ///< empty: "still here" when nothing else was sent for a while.
  // worker rank -> driver
  tag_ready = 6,      ///< encode(ok, workers, host, pid, error).
  tag_result = 7,     ///< result_header, then the result or the error's description.
  tag_stopped = 8,    ///< empty.
};

struct task_header {
  std::uint64_t id;
  std::uint32_t timeout_ms;
  std::uint8_t kind;  ///< proc::lowlevel::call_kind
};

/// How a task ended on its rank.
enum class outcome : std::uint8_t {
  value = 0,      ///< the encoded result follows
  exception = 1,  ///< encode(tuple(type name, message)): the task threw, or the rank could not run it
  crashed = 2,    ///< encode(tuple(message, pid, signal, exit code)): its worker process died
  timed_out = 3,  ///< encode(tuple(message, pid))
};

struct result_header {
  std::uint64_t id;
  std::uint8_t outcome;
};

template <class Header>
std::string with_header(const Header& h, std::string_view body) {
  std::string out(sizeof h, '\0');
  std::memcpy(out.data(), &h, sizeof h);
  out.append(body);
  return out;
}

/// Reads the header in front of `bytes`; false if `bytes` is too short.
template <class Header>
bool read_header(std::string_view bytes, Header& h, std::string_view& body) {
  if (bytes.size() < sizeof h) return false;
  std::memcpy(&h, bytes.data(), sizeof h);
  body = bytes.substr(sizeof h);
  return true;
}

}  // namespace trident::cluster::detail
