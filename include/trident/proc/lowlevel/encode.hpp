#pragma once
/// @file
/// Low-level interface: a call to a registered function, made bytes — `encode_call`,
/// `encode_chunk` — and what a front end checks about a function before it offers to run it
/// (the traits below). Part of `proc/lowlevel.hpp`.
///
/// @par Thread safety
/// Every function may be called from any thread at once (the registry is read-only once `main`
/// runs).

#include <cstddef>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "trident/proc/codec.hpp"
#include "trident/proc/lowlevel/encoded_call.hpp"
#include "trident/proc/process_pool.hpp"
#include "trident/proc/task_registry.hpp"

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
  call.calls = n;
  call.task_name = task_name(fn);
  detail::begin_payload(call.payload, call.task_name);
  encode_into(call.payload, args);
  return call;
}

}  // namespace trident::proc::lowlevel
