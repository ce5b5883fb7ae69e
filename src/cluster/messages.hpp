// The messages between the driver (rank 0) and the worker ranks: MPI tags, and the fixed headers
// in front of task and result bytes. Private to src/cluster.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

#include "trident/proc/codec.hpp"

namespace trident::cluster::detail {

/// MPI tags, on the layer's own communicator (a duplicate of MPI_COMM_WORLD).
enum tag : int {
  // driver -> worker rank
  tag_config = 1,  ///< encode(executor, workers, task_timeout_ms): start an executor.
  tag_task = 2,    ///< task_header, then the encoded call.
  tag_stop = 3,    ///< encode(terminate): stop the executor, answer tag_stopped.
  tag_exit = 4,    ///< encode(abort): leave (finalising MPI unless abort).
  // both ways
  tag_heartbeat = 5,  ///< empty: "still here" when nothing else was sent for a while.
  // worker rank -> driver
  tag_ready = 6,    ///< encode(ok, workers, host, pid, error).
  tag_result = 7,   ///< result_header, then the result or the error's description.
  tag_stopped = 8,  ///< empty.
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

/// A worker rank's tag_ready message.
struct ready_message {
  bool ok = false;
  std::uint64_t workers = 0;
  std::string host;
  int pid = 0;
  std::string error;
};

/// Reads a tag_ready message. Throws proc::protocol_error for bytes that are not one (a rank's
/// bytes are checked like a worker's: no length is trusted past the bytes there).
inline ready_message read_ready(std::string_view bytes) {
  auto [ok, workers, host, pid, error] =
      proc::decode<std::tuple<bool, std::uint64_t, std::string, int, std::string>>(bytes);
  return {ok, workers, std::move(host), pid, std::move(error)};
}

/// The body of a tag_result whose outcome is not `value`: what the rank says went wrong.
struct failure_message {
  std::string type;  ///< the exception's type (outcome::exception), else empty
  std::string text;
  int pid = 0;
  int signal = 0;
  int exit_code = 0;
};

/// Reads the body of a tag_result with outcome `how` (not `value`). Throws proc::protocol_error
/// for bytes that are not one.
inline failure_message read_failure(outcome how, std::string_view body) {
  failure_message f;
  if (how == outcome::crashed) {
    std::tie(f.text, f.pid, f.signal, f.exit_code) = proc::decode<std::tuple<std::string, int, int, int>>(body);
  } else if (how == outcome::timed_out) {
    std::tie(f.text, f.pid) = proc::decode<std::tuple<std::string, int>>(body);
  } else {
    std::tie(f.type, f.text) = proc::decode<std::tuple<std::string, std::string>>(body);
  }
  return f;
}

}  // namespace trident::cluster::detail
