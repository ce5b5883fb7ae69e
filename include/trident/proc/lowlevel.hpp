#pragma once
/// @file
/// The process layer's low-level interface, for layers that carry registered tasks elsewhere
/// (the cluster layer sends them to MPI ranks): a call to a registered task as bytes — the
/// same payload a process pool sends its workers — and the ways to run such bytes: in this
/// process, or on a `process_pool`, with the encoded result coming back as bytes.
///
/// Most code wants `process_pool::submit` instead. Like `aio/lowlevel.hpp`: public, documented,
/// and few.
///
/// @par Thread safety
/// Every function may be called from any thread at once. `submit_encoded` follows the pool's
/// rules (see process_pool.hpp).

#include <chrono>
#include <cstddef>
#include <exception>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "trident/exec/future.hpp"
#include "trident/proc/codec.hpp"
#include "trident/proc/process_pool.hpp"
#include "trident/proc/task.hpp"

namespace trident::proc::lowlevel {

/// Whether `F` is a plain function (pointer): what can be a task.
template <class F>
inline constexpr bool is_task_function_v = detail::is_task_function_v<F>;

/// The result type of the task `F` (a function pointer type).
template <class F>
using task_result_t = detail::task_result_t<F>;

/// The task's parameters, decayed, as a tuple: what its arguments are encoded as.
template <class F>
using task_arguments_t = typename detail::fn_traits<std::decay_t<F>>::args;

/// Whether arguments `Args...` can initialise the parameters `Params` (a tuple) one by one.
template <class Params, class... Args>
inline constexpr bool arguments_fit_v = detail::arguments_fit<Params, Args...>::value;

/// One call of a task (its arguments a `tuple<P...>`, its result `R`), or a chunk of calls (a
/// `vector<tuple<P...>>`, its result `vector<R>`; `vector<bool>` for a void task).
enum class call_kind : unsigned char { one = 0, chunk = 1 };

/// A call to a registered task, encoded: `payload` holds the task's name and its arguments;
/// `task_name` is the registry's own string (it lives as long as the program).
struct encoded_call {
  call_kind kind = call_kind::one;
  std::string payload;
  std::string_view task_name;
};

/// The name `fn` was registered under with `TRIDENT_TASK`; throws `unregistered_task_error`.
template <class R, class... P>
std::string_view task_name(R (*fn)(P...)) {
  return detail::task_name_of(reinterpret_cast<detail::any_fn>(fn));
}

/// `fn(args...)` as bytes. Throws `unregistered_task_error` if `fn` is not registered.
template <class R, class... P, class... Args>
encoded_call encode_call(R (*fn)(P...), Args&&... args) {
  static_assert(sizeof...(P) == sizeof...(Args), "encode_call: wrong number of arguments for the task");
  encoded_call call;
  call.task_name = task_name(fn);
  detail::begin_payload(call.payload, call.task_name);
  encode_into(call.payload, std::tuple<std::decay_t<P>...>(std::forward<Args>(args)...));
  return call;
}

/// `fn` applied to each of the `n` items from `first`, as one chunk.
template <class R, class P, class It>
encoded_call encode_chunk(R (*fn)(P), It first, std::size_t n) {
  std::vector<std::tuple<std::decay_t<P>>> args;
  args.reserve(n);
  for (std::size_t i = 0; i < n; ++i, ++first) args.emplace_back(*first);
  encoded_call call;
  call.kind = call_kind::chunk;
  call.task_name = task_name(fn);
  detail::begin_payload(call.payload, call.task_name);
  encode_into(call.payload, args);
  return call;
}

/// The task name at the front of a payload; throws `protocol_error` if there is none.
[[nodiscard]] std::string_view payload_task_name(std::string_view payload);

/// Runs an encoded call in the calling thread and returns the encoded result. The task's own
/// exception propagates; `unregistered_task_error` if this binary has no task of that name,
/// `protocol_error` for bytes that are not a call.
[[nodiscard]] std::string run_encoded(call_kind kind, std::string_view payload);

/// Queues an encoded call on `pool`; the future gets the encoded result, or the exception the
/// pool reports (`remote_error`, `worker_crashed_error`, `task_timeout_error`, …) as for
/// `submit`. `timeout` 0: the pool's default. Cancelling the future before a worker takes the
/// call drops it.
[[nodiscard]] future<std::string> submit_encoded(process_pool& pool, call_kind kind, std::string payload,
                                                 std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

/// The exception `error` described as it crosses a process boundary: its demangled type name
/// and message. A `remote_error` is described as the exception it carries (its `type_name()`
/// and `message()`), so a description passed on twice still names the original exception.
[[nodiscard]] std::pair<std::string, std::string> describe_exception(std::exception_ptr error);

}  // namespace trident::proc::lowlevel
