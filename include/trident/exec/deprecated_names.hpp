/// @file
/// The 0.1 spellings of exec's names, directly in `trident::` (`trident::thread_pool`,
/// `trident::future<T>`, …), kept for the 0.2 releases as `[[deprecated]]` aliases of their
/// `trident::exec::` names and removed in 0.3 (docs/versioning.md; the list is in CHANGELOG.md).
///
/// Types and class templates are aliases, so the old and the new name are the same type.
/// Functions are forwarding templates with an empty trailing parameter pack: when an
/// unqualified call inside `namespace trident` (or after `using namespace trident`) finds both
/// this one (by ordinary lookup) and the `exec::` one (by argument-dependent lookup), the one
/// without the pack is more specialized and wins, so the call is never ambiguous and never
/// warns; a call that names `trident::when_all` gets this one and its deprecation warning.
///
/// GCC warns on every use; clang (16) does not warn on uses of a deprecated alias template
/// (`trident::future<int>`), only on the other names.
///
/// No `#pragma once`: every public header of exec includes this file at its end (after defining
/// its `TRIDENT_EXEC_<HEADER>_HPP`), and each pass adds the section of each header included so
/// far, once.

#if defined(TRIDENT_EXEC_FUTURE_HPP) && !defined(TRIDENT_EXEC_DEPRECATED_FUTURE)
#define TRIDENT_EXEC_DEPRECATED_FUTURE
namespace trident {
using future_state [[deprecated("use trident::exec::future_state")]] = exec::future_state;
using future_status [[deprecated("use trident::exec::future_status")]] = exec::future_status;
template <class T>
using future [[deprecated("use trident::exec::future")]] = exec::future<T>;
template <class T>
using promise [[deprecated("use trident::exec::promise")]] = exec::promise<T>;

template <class T, class... None>
  requires(sizeof...(None) == 0)
[[deprecated("use trident::exec::make_ready_future")]] exec::future<std::decay_t<T>> make_ready_future(T&& value,
                                                                                                       None...) {
  return exec::make_ready_future(std::forward<T>(value));
}
}  // namespace trident
#endif

#if defined(TRIDENT_EXEC_CONTINUATION_HPP) && !defined(TRIDENT_EXEC_DEPRECATED_CONTINUATION)
#define TRIDENT_EXEC_DEPRECATED_CONTINUATION
namespace trident {
using continuation [[deprecated("use trident::exec::continuation")]] = exec::continuation;

template <class T, class... None>
  requires(sizeof...(None) == 0)
[[deprecated("use trident::exec::add_continuation")]] [[nodiscard]] bool add_continuation(const exec::future<T>& f,
                                                                                          exec::continuation& c,
                                                                                          None...) {
  return exec::add_continuation(f, c);
}
}  // namespace trident
#endif

#if defined(TRIDENT_EXEC_COMPLETION_QUEUE_HPP) && !defined(TRIDENT_EXEC_DEPRECATED_COMPLETION_QUEUE)
#define TRIDENT_EXEC_DEPRECATED_COMPLETION_QUEUE
namespace trident {
using completion_queue [[deprecated("use trident::exec::completion_queue")]] = exec::completion_queue;
}  // namespace trident
#endif

#if defined(TRIDENT_EXEC_AS_COMPLETED_HPP) && !defined(TRIDENT_EXEC_DEPRECATED_AS_COMPLETED)
#define TRIDENT_EXEC_DEPRECATED_AS_COMPLETED
namespace trident {
template <class T>
using completion_range [[deprecated("use trident::exec::completion_range")]] = exec::completion_range<T>;

template <class T, class... None>
  requires(sizeof...(None) == 0)
[[deprecated("use trident::exec::as_completed")]] exec::completion_range<T> as_completed(
    std::vector<exec::future<T>>& futures, None...) {
  return exec::as_completed(futures);
}
}  // namespace trident
#endif

#if defined(TRIDENT_EXEC_THREAD_POOL_HPP) && !defined(TRIDENT_EXEC_DEPRECATED_THREAD_POOL)
#define TRIDENT_EXEC_DEPRECATED_THREAD_POOL
namespace trident {
using thread_pool_options [[deprecated("use trident::exec::thread_pool_options")]] = exec::thread_pool_options;
using thread_pool_statistics [[deprecated("use trident::exec::thread_pool_statistics")]] = exec::thread_pool_statistics;
using thread_pool [[deprecated("use trident::exec::thread_pool")]] = exec::thread_pool;
}  // namespace trident
#endif

#if defined(TRIDENT_EXEC_TASK_GROUP_HPP) && !defined(TRIDENT_EXEC_DEPRECATED_TASK_GROUP)
#define TRIDENT_EXEC_DEPRECATED_TASK_GROUP
namespace trident {
using task_group [[deprecated("use trident::exec::task_group")]] = exec::task_group;
}  // namespace trident
#endif

#if defined(TRIDENT_EXEC_PARALLEL_FOR_HPP) && !defined(TRIDENT_EXEC_DEPRECATED_PARALLEL_FOR)
#define TRIDENT_EXEC_DEPRECATED_PARALLEL_FOR
namespace trident {
template <class Body, class... None>
  requires(sizeof...(None) == 0)
[[deprecated("use trident::exec::parallel_for")]] void parallel_for(exec::thread_pool& pool, std::size_t first,
                                                                    std::size_t last, Body&& body,
                                                                    std::size_t grain = 0, None...) {
  exec::parallel_for(pool, first, last, std::forward<Body>(body), grain);
}

template <class T, class ChunkFold, class Combine = std::plus<T>, class... None>
  requires(sizeof...(None) == 0)
[[deprecated("use trident::exec::parallel_reduce")]] T parallel_reduce(exec::thread_pool& pool, std::size_t first,
                                                                       std::size_t last, T init, ChunkFold&& chunk_fold,
                                                                       Combine combine = {}, std::size_t grain = 0,
                                                                       None...) {
  return exec::parallel_reduce(pool, first, last, std::move(init), std::forward<ChunkFold>(chunk_fold),
                               std::move(combine), grain);
}
}  // namespace trident
#endif

#if defined(TRIDENT_EXEC_WHEN_ALL_HPP) && !defined(TRIDENT_EXEC_DEPRECATED_WHEN_ALL)
#define TRIDENT_EXEC_DEPRECATED_WHEN_ALL
namespace trident {
template <class T, class... None>
  requires(sizeof...(None) == 0)
[[deprecated("use trident::exec::when_all")]] auto when_all(std::vector<exec::future<T>> futures, None...)
    -> decltype(exec::when_all(std::move(futures))) {
  return exec::when_all(std::move(futures));
}

template <class T, class... None>
  requires(sizeof...(None) == 0)
[[deprecated("use trident::exec::when_any")]] exec::future<std::size_t> when_any(std::vector<exec::future<T>>& futures,
                                                                                 None...) {
  return exec::when_any(futures);
}
}  // namespace trident
#endif
