/// @file
/// The 0.1 spellings of sync's names, directly in `trident::` (`trident::mutex`,
/// `trident::channel<T>`, `trident::lock_order::enabled()`, …), kept for the 0.2 releases as
/// `[[deprecated]]` aliases of their `trident::sync::` names and removed in 0.3
/// (docs/versioning.md; the list is in CHANGELOG.md).
///
/// Types and class templates are aliases, so the old and the new name are the same type. The
/// namespace `trident::lock_order` is a deprecated namespace that makes `sync::lock_order`'s
/// names visible (a namespace alias cannot be deprecated). `to_string` forwards through a
/// template with an empty trailing parameter pack: an unqualified call that finds both it and
/// `sync::to_string` picks the latter (a function beats a template), so it never warns and is
/// never ambiguous; `trident::to_string(status)` gets this one and its warning.
///
/// GCC warns on every use; clang (16) does not warn on uses of a deprecated alias template
/// (`trident::channel<int>`), only on the other names.
///
/// No `#pragma once`: every public header of sync includes this file at its end (after defining
/// its `TRIDENT_SYNC_<HEADER>_HPP`), and each pass adds the section of each header included so
/// far, once.

#if defined(TRIDENT_SYNC_CHANNEL_TYPES_HPP) && !defined(TRIDENT_SYNC_DEPRECATED_CHANNEL_TYPES)
#define TRIDENT_SYNC_DEPRECATED_CHANNEL_TYPES
namespace trident {
using send_status [[deprecated("use trident::sync::send_status")]] = sync::send_status;
using receive_status [[deprecated("use trident::sync::receive_status")]] = sync::receive_status;
template <class T>
using receive_result [[deprecated("use trident::sync::receive_result")]] = sync::receive_result<T>;
using channel_statistics [[deprecated("use trident::sync::channel_statistics")]] = sync::channel_statistics;

template <class... None>
  requires(sizeof...(None) == 0)
[[deprecated("use trident::sync::to_string")]] [[nodiscard]] constexpr std::string_view to_string(sync::send_status s,
                                                                                                  None...) noexcept {
  return sync::to_string(s);
}

template <class... None>
  requires(sizeof...(None) == 0)
[[deprecated("use trident::sync::to_string")]] [[nodiscard]] constexpr std::string_view to_string(
    sync::receive_status s, None...) noexcept {
  return sync::to_string(s);
}
}  // namespace trident
#endif

#if defined(TRIDENT_SYNC_CHANNEL_WAITER_HPP) && !defined(TRIDENT_SYNC_DEPRECATED_CHANNEL_WAITER)
#define TRIDENT_SYNC_DEPRECATED_CHANNEL_WAITER
namespace trident {
using waiter_outcome [[deprecated("use trident::sync::waiter_outcome")]] = sync::waiter_outcome;
using channel_waiter_base [[deprecated("use trident::sync::channel_waiter_base")]] = sync::channel_waiter_base;
template <class T>
using channel_waiter [[deprecated("use trident::sync::channel_waiter")]] = sync::channel_waiter<T>;
}  // namespace trident
#endif

#if defined(TRIDENT_SYNC_CHANNEL_HPP) && !defined(TRIDENT_SYNC_DEPRECATED_CHANNEL)
#define TRIDENT_SYNC_DEPRECATED_CHANNEL
namespace trident {
template <class T>
using channel [[deprecated("use trident::sync::channel")]] = sync::channel<T>;
}  // namespace trident
#endif

#if defined(TRIDENT_SYNC_PRIORITY_CHANNEL_HPP) && !defined(TRIDENT_SYNC_DEPRECATED_PRIORITY_CHANNEL)
#define TRIDENT_SYNC_DEPRECATED_PRIORITY_CHANNEL
namespace trident {
template <class T, class Compare = std::less<T>>
using priority_channel [[deprecated("use trident::sync::priority_channel")]] = sync::priority_channel<T, Compare>;
}  // namespace trident
#endif

#if defined(TRIDENT_SYNC_EVENT_HPP) && !defined(TRIDENT_SYNC_DEPRECATED_EVENT)
#define TRIDENT_SYNC_DEPRECATED_EVENT
namespace trident {
using event [[deprecated("use trident::sync::event")]] = sync::event;
}  // namespace trident
#endif

#if defined(TRIDENT_SYNC_LOCK_ORDER_HPP) && !defined(TRIDENT_SYNC_DEPRECATED_LOCK_ORDER)
#define TRIDENT_SYNC_DEPRECATED_LOCK_ORDER
namespace trident {
using lock_order_error [[deprecated("use trident::sync::lock_order_error")]] = sync::lock_order_error;

namespace [[deprecated("use trident::sync::lock_order")]] lock_order {
using namespace sync::lock_order;
using graph_statistics [[deprecated("use trident::sync::lock_order::graph_statistics")]] =
    sync::lock_order::graph_statistics;
}  // namespace lock_order
}  // namespace trident
#endif

#if defined(TRIDENT_SYNC_MUTEX_HPP) && !defined(TRIDENT_SYNC_DEPRECATED_MUTEX)
#define TRIDENT_SYNC_DEPRECATED_MUTEX
namespace trident {
using mutex [[deprecated("use trident::sync::mutex")]] = sync::mutex;
}  // namespace trident
#endif

#if defined(TRIDENT_SYNC_SYNCHRONIZED_HPP) && !defined(TRIDENT_SYNC_DEPRECATED_SYNCHRONIZED)
#define TRIDENT_SYNC_DEPRECATED_SYNCHRONIZED
namespace trident {
using lock_name [[deprecated("use trident::sync::lock_name")]] = sync::lock_name;
template <class T, class Mutex = sync::mutex>
using synchronized [[deprecated("use trident::sync::synchronized")]] = sync::synchronized<T, Mutex>;
}  // namespace trident
#endif
