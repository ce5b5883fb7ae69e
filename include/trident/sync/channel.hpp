#pragma once
/// @file
/// `trident::sync::channel<T>`: a bounded multi-producer multi-consumer FIFO queue.

#include <cstddef>

#include "trident/sync/channel_types.hpp"
#include "trident/sync/detail/basic_channel.hpp"
#include "trident/sync/detail/channel_buffers.hpp"

namespace trident::sync {

/// A bounded first-in-first-out queue between any number of sending and receiving threads
/// (Go's buffered channel, Python's `queue.Queue(maxsize)` with `close()`).
///
/// **Blocking.** `send` waits while the channel holds `capacity()` values; `receive` waits
/// while it is empty. Blocked parties sleep (no polling) in FIFO order and are woken one at a
/// time; a value sent while a receiver waits goes straight to that receiver. `try_send` /
/// `try_receive` never block; `send_for`/`send_until`/`receive_for`/`receive_until` block at
/// most until their deadline and report `timeout`.
///
/// **Close semantics.** `close()` is idempotent. After it, every send fails: `send` throws
/// `channel_closed_error`, the other sends return `send_status::closed`. Values already
/// buffered stay receivable; `receive` returns `std::nullopt` (`receive_status::closed`) once
/// they are drained, so consumers end without a sentinel value and `for (auto& v : ch)` stops.
/// Blocked senders wake and fail; blocked receivers wake and get `nullopt`.
///
/// **Cancel safety.** A value is never lost or duplicated by a failed operation:
///  - `try_send`, `send_for`, `send_until` move from their argument only when they return
///    `ok`; on `full`, `closed` or `timeout` the caller's value is untouched.
///  - `send(T)` takes its argument by value; if it throws, that copy is destroyed.
///  - a receive that returns `timeout`, `empty` or `closed` took nothing; a value handed to a
///    receiver that is about to time out is still returned as `ok`.
///
/// **Thread safety.** Every member may be called concurrently. The channel must outlive every
/// thread blocked on it.
///
/// **Printing.** `os << ch` prints e.g. `channel [open, 3/5 items, senders waiting:1]`.
///
/// @code
/// trident::sync::channel<int> ch{16};
/// std::jthread producer{[&] { for (int i = 0; i < 100; ++i) ch.send(i); ch.close(); }};
/// for (int v : ch) total += v;             // ends when closed and drained
/// @endcode
template <class T>
class channel : public sync::detail::basic_channel<T, sync::detail::fifo_buffer<T>> {
  using base = sync::detail::basic_channel<T, sync::detail::fifo_buffer<T>>;

 public:
  /// Throws std::invalid_argument when `capacity` is 0.
  explicit channel(std::size_t capacity) : base(capacity) {}
};

}  // namespace trident::sync

// This header's names under their 0.1 spelling, directly in `trident::`: deprecated until 0.3.
#define TRIDENT_SYNC_CHANNEL_HPP
#include "trident/sync/deprecated_names.hpp"
