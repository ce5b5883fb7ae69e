#pragma once
/// @file
/// Low-level interface: an exception as it crosses a process boundary — its type's name and its
/// message, the pair a pool's worker sends for a task that threw and a cluster rank sends its
/// driver. Part of `proc/lowlevel.hpp`.

#include <exception>
#include <string>
#include <utility>

namespace trident::proc::lowlevel {

/// The exception `error` described as (demangled type name, message). One not derived from
/// `std::exception` keeps its type's name with the message "(exception not derived from
/// std::exception)". A `remote_error` is described as the exception it carries (its
/// `type_name()` and `message()`), so a description passed on twice — a task that lets a nested
/// pool's error escape, a rank passing on its pool's — still names the original exception.
/// Thread-safe; throws only `std::bad_alloc`.
[[nodiscard]] std::pair<std::string, std::string> describe_exception(std::exception_ptr error);

}  // namespace trident::proc::lowlevel
