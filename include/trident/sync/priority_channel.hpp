#pragma once
/// @file
/// `trident::sync::priority_channel<T, Compare>`: a bounded MPMC queue that hands out the largest
/// value first.

#include <cstddef>
#include <functional>
#include <utility>

#include "trident/sync/channel_types.hpp"
#include "trident/sync/detail/basic_channel.hpp"
#include "trident/sync/detail/channel_buffers.hpp"

namespace trident::sync {

/// A bounded queue between threads whose `receive` returns the *largest* buffered value by
/// `Compare` first, like `std::priority_queue` (a binary max-heap). Python's
/// `queue.PriorityQueue` is min-first; use `priority_channel<T, std::greater<T>>` for that.
/// Equal values leave in unspecified order.
///
/// Same API, blocking, close semantics and cancel safety as `channel<T>` (one shared
/// implementation). The only ordering difference: a sender blocked on a full channel is not
/// yet "in" the channel; its value joins the heap when a receive frees a slot, so a value
/// larger than everything buffered can still wait behind a full channel.
///
/// **Thread safety.** Every member may be called concurrently. `Compare` is called with the
/// channel's internal lock held; it must not block or touch the channel.
///
/// @code
/// struct job { int priority; std::string name;
///              auto operator<=>(const job&) const = default; };
/// trident::sync::priority_channel<job> jobs{64};
/// jobs.send({1, "tidy"});
/// jobs.send({9, "page the on-call"});
/// jobs.receive()->name;                    // "page the on-call"
/// @endcode
template <class T, class Compare = std::less<T>>
class priority_channel : public sync::detail::basic_channel<T, sync::detail::heap_buffer<T, Compare>> {
  using base = sync::detail::basic_channel<T, sync::detail::heap_buffer<T, Compare>>;

 public:
  /// Throws std::invalid_argument when `capacity` is 0.
  explicit priority_channel(std::size_t capacity, Compare compare = Compare{})
      : base(capacity, sync::detail::heap_buffer<T, Compare>(std::move(compare))) {}
};

}  // namespace trident::sync

// This header's names under their 0.1 spelling, directly in `trident::`: deprecated until 0.3.
#define TRIDENT_SYNC_PRIORITY_CHANNEL_HPP
#include "trident/sync/deprecated_names.hpp"
