#pragma once
/// @file
/// Low-level interface: the ways to run an encoded call — in this process (`run_encoded`), or on
/// a `process_pool` (`submit_encoded`) — with the encoded result coming back as bytes, for a
/// carrier that passes it on (a cluster rank sends it to its driver). Part of
/// `proc/lowlevel.hpp`.
///
/// @par Thread safety
/// Both may be called from any thread at once; `submit_encoded` follows the pool's rules (see
/// process_pool.hpp).

#include <chrono>
#include <string>
#include <string_view>

#include "trident/exec/future.hpp"
#include "trident/proc/lowlevel/encoded_call.hpp"
#include "trident/proc/process_pool.hpp"

namespace trident::proc::lowlevel {

/// Runs an encoded call in the calling thread and returns the encoded result. The task's own
/// exception propagates; `unregistered_task_error` if this binary has no task of that name,
/// `protocol_error` for bytes that are not a call. Not cancellable: the call runs to its end.
[[nodiscard]] std::string run_encoded(call_kind kind, std::string_view payload);

/// Queues an encoded call on `pool`; the future gets the encoded result, or the exception the
/// pool reports (`remote_error`, `worker_crashed_error`, `task_timeout_error`, …) as for
/// `submit`. Throws `unregistered_task_error` at once if this binary has no task of the
/// payload's name. `timeout` 0: the pool's default. Cancelling the future before a worker takes
/// the call drops it.
[[nodiscard]] exec::future<std::string> submit_encoded(
    process_pool& pool, call_kind kind, std::string payload,
    std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

}  // namespace trident::proc::lowlevel
