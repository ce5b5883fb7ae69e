#pragma once
/// @file
/// The task registry: a function is registered once under a stable name with `TRIDENT_TASK`,
/// and from then on a process pool, a `process` or a cluster pool can run it by that name,
/// the way Python's pickle refers to a function by its qualified name. A registered function is
/// still an ordinary function: a thread pool runs it directly.
///
/// Thread safety: registration happens during static initialisation (before `main`); lookups
/// are thread-safe afterwards.
///
/// @code
///   int square(int x) { return x * x; }
///   TRIDENT_TASK(square);                       // at namespace scope, next to the definition
///   auto f = pool.submit(square, 7);            // trident::exec::future<int>
/// @endcode

#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "trident/proc/codec.hpp"

namespace trident::proc {

namespace detail {

/// Any function pointer, as a key (casting between function pointer types is always allowed).
using any_fn = void (*)();

/// Decodes the arguments in `args`, runs the task, appends the encoded result to `out`.
/// Exceptions propagate to the worker loop, which reports them.
using invoker_fn = void (*)(std::string_view args, std::string& out);

struct registered_task {
  std::string name;
  invoker_fn one = nullptr;    ///< One call: arguments `tuple<Args...>`, result `R`.
  invoker_fn chunk = nullptr;  ///< A chunk of calls: `vector<tuple<Args...>>` -> `vector<R>`.
};

/// Adds a task to this process's registry. Registering the same function under the same name
/// twice (a header included twice) is harmless; two functions under one name abort at start-up
/// with a message, since workers could not tell them apart.
bool register_task(const char* name, any_fn address, invoker_fn one, invoker_fn chunk);

/// The task registered under `name`, or nullptr.
[[nodiscard]] const registered_task* find_task(std::string_view name);

/// The name `address` was registered under; throws `unregistered_task_error` naming the
/// function (from its symbol where the binary exports one) otherwise.
[[nodiscard]] const std::string& task_name_of(any_fn address);

/// The name `address` was registered under, or nullptr when it was not. Never throws.
[[nodiscard]] const std::string* find_task_name(any_fn address) noexcept;

template <class Sig>
struct fn_traits;
template <class R, class... A>
struct fn_traits<R (*)(A...)> {
  using result = R;
  using args = std::tuple<std::decay_t<A>...>;
};
template <class R, class... A>
struct fn_traits<R (*)(A...) noexcept> : fn_traits<R (*)(A...)> {};

template <auto Fn>
struct invokers {
  using traits = fn_traits<decltype(Fn)>;
  using R = typename traits::result;
  using args_t = typename traits::args;
  static_assert(is_serializable_v<std::decay_t<R>>, "trident::proc: the task's result type cannot be serialized");
  static_assert(is_serializable_v<args_t>, "trident::proc: an argument type of the task cannot be serialized");

  static void one(std::string_view bytes, std::string& out) {
    auto args = decode<args_t>(bytes);
    if constexpr (std::is_void_v<R>) {
      std::apply(Fn, std::move(args));
    } else {
      encode_into(out, std::apply(Fn, std::move(args)));
    }
  }
  static void chunk(std::string_view bytes, std::string& out) {
    auto all = decode<std::vector<args_t>>(bytes);
    if constexpr (std::is_void_v<R>) {
      for (auto& a : all) std::apply(Fn, std::move(a));
      encode_into(out, std::vector<bool>(all.size(), true));
    } else {
      std::vector<std::decay_t<R>> results;
      results.reserve(all.size());
      for (auto& a : all) results.push_back(std::apply(Fn, std::move(a)));
      encode_into(out, results);
    }
  }
};

template <auto Fn>
bool register_function(const char* name) {
  return register_task(name, reinterpret_cast<any_fn>(Fn), &invokers<Fn>::one, &invokers<Fn>::chunk);
}

}  // namespace detail

/// Whether `fn` was registered with `TRIDENT_TASK` in this program, that is whether a process
/// pool can run it. Thread safe; never throws.
template <class R, class... A>
[[nodiscard]] bool is_registered_task(R (*fn)(A...)) noexcept {
  return detail::find_task_name(reinterpret_cast<detail::any_fn>(fn)) != nullptr;
}

}  // namespace trident::proc

#define TRIDENT_PROC_CONCAT_INNER(a, b) a##b
#define TRIDENT_PROC_CONCAT(a, b) TRIDENT_PROC_CONCAT_INNER(a, b)

/// Registers the function `fn` as a task under the name `#fn`. Write it at namespace scope, in
/// the same binary that runs the workers (it is: workers re-execute that binary), once per
/// function; an overloaded name does not compile (cast it to one signature first with a
/// wrapper). Arguments and result must be serializable (`codec.hpp`); if not, this line fails
/// to compile.
#define TRIDENT_TASK(fn)                                                                          \
  [[maybe_unused]] static const bool TRIDENT_PROC_CONCAT(trident_task_registered_, __COUNTER__) = \
      ::trident::proc::detail::register_function<&fn>(#fn)
