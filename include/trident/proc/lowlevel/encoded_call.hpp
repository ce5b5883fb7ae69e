#pragma once
/// @file
/// Low-level interface: a call to a registered task as bytes — `encoded_call` — and the layout of
/// its payload, which both ends of every carrier read (a pool's worker, a cluster rank, the
/// process that submitted it). Part of `proc/lowlevel.hpp`.
///
/// @par Payload layout
/// A 32-bit length in the host's byte order, the task's registered name (that many bytes), then
/// the encoded arguments: a `tuple<P...>` for one call, a `vector<tuple<P...>>` for a chunk
/// (codec.hpp). Both ends run the same binary on machines of one byte order.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "trident/proc/errors.hpp"

namespace trident::proc::lowlevel {

/// One call of a task (its arguments a `tuple<P...>`, its result `R`), or a chunk of calls (a
/// `vector<tuple<P...>>`, its result `vector<R>`; `vector<bool>` for a void task).
enum class call_kind : unsigned char { one = 0, chunk = 1 };

/// A call to a registered task, encoded (see the layout above): `payload` holds the task's name
/// and its arguments; `task_name` is the registry's own string (it lives as long as the
/// program), never a view into `payload`; `calls` is 1, or a chunk's length.
struct encoded_call {
  call_kind kind = call_kind::one;
  std::string payload;
  std::string_view task_name;
  std::size_t calls = 1;
};

/// A payload cut at its seam: views into the payload it was read from.
struct payload_parts {
  std::string_view task_name;  ///< The name the task was registered under.
  std::string_view arguments;  ///< The encoded arguments (or argument tuples, for a chunk).
};

/// Reads the task name at the front of `payload` and finds where its arguments start. Throws
/// `protocol_error` for bytes that hold no complete name. Thread-safe (it only reads `payload`).
[[nodiscard]] inline payload_parts split_payload(std::string_view payload) {
  std::uint32_t name_length;
  if (payload.size() < sizeof name_length) throw protocol_error("encoded call too short for a task name");
  std::memcpy(&name_length, payload.data(), sizeof name_length);
  if (name_length > payload.size() - sizeof name_length) {
    throw protocol_error("encoded call: the task name runs past the end");
  }
  return {payload.substr(sizeof name_length, name_length), payload.substr(sizeof name_length + name_length)};
}

/// The task name at the front of a payload; throws `protocol_error` if there is none.
[[nodiscard]] inline std::string_view payload_task_name(std::string_view payload) {
  return split_payload(payload).task_name;
}

}  // namespace trident::proc::lowlevel

namespace trident::proc::detail {

/// Starts a payload (the layout above) in `out`: the name, ready for the encoded arguments to be
/// appended.
inline void begin_payload(std::string& out, std::string_view name) {
  const auto n = static_cast<std::uint32_t>(name.size());
  out.append(reinterpret_cast<const char*>(&n), sizeof n);
  out.append(name);
}

}  // namespace trident::proc::detail
