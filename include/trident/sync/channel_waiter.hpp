#pragma once
/// @file
/// Low-level interface of the channels: how a party that waits on a `channel<T>` or
/// `priority_channel<T>` is represented. Threads never see it (`send` / `receive` wait for
/// them); it is for code that waits some other way — the aio layer's `aio::send` /
/// `aio::receive`, which suspend a coroutine instead of a thread — through the channel's
/// `send_or_link`, `receive_or_link` and `withdraw`.
///
/// Protocol (all of it under the channel's internal lock, which the channel takes itself):
///  1. The waiter offers its operation with `send_or_link(value, w)` / `receive_or_link(out, w)`.
///     If it can complete at once it does (`outcome` is `done` or `closed`) and `w` is not kept.
///     Otherwise the channel links `w` (`outcome` stays `waiting`) and returns `full` / `empty`.
///  2. Later, on whichever thread sends, receives or closes, the channel completes `w`: it moves
///     the value (out of `*outgoing` into its buffer, or into `*incoming`), sets `outcome`,
///     unlinks `w` and calls `w.wake()` — still under its lock.
///  3. A waiter that gives up (cancellation, timeout, its owner dying) calls `withdraw(w)`: true
///     means it was still linked and nothing happened; false means the channel completed it
///     first, and the completed transfer must be reported, not lost.

#include <cstddef>
#include <optional>

namespace trident::sync {

namespace detail {
class waiter_list;
}  // namespace detail

/// How a channel wait ended (read it after `wake()`, or after a `withdraw` that returned false).
enum class waiter_outcome : unsigned char {
  waiting,  ///< linked, the operation has not happened
  done,     ///< the channel did the operation for this waiter
  closed,   ///< the channel was closed; nothing was transferred
};

/// One waiting party, of any value type. Not copyable or movable: the channel holds its address
/// while linked. Owned by the waiter (on its stack, or in its coroutine frame).
class channel_waiter_base {
 public:
  channel_waiter_base() = default;
  channel_waiter_base(const channel_waiter_base&) = delete;
  channel_waiter_base& operator=(const channel_waiter_base&) = delete;

  /// Called exactly once per completion, on the completing thread, with the channel's internal
  /// lock held, after `outcome` was set and the node unlinked. Must not block and must not call
  /// back into the channel: a thread waiter notifies its condition variable; a coroutine waiter
  /// schedules its resumption on its event loop.
  virtual void wake() noexcept = 0;

  /// How the wait ended. Written by the channel under its internal lock; the waiter reads it
  /// after being woken, or after `withdraw` returned false.
  waiter_outcome outcome = waiter_outcome::waiting;

 protected:
  ~channel_waiter_base() = default;

 private:
  friend class sync::detail::waiter_list;
  channel_waiter_base* prev_ = nullptr;
  channel_waiter_base* next_ = nullptr;
};

/// A waiter on a channel of `T`: a sender points `outgoing` at the value it offers (moved from
/// only when the outcome is `done`); a receiver points `incoming` at where the value lands.
template <class T>
class channel_waiter : public channel_waiter_base {
 public:
  T* outgoing = nullptr;
  std::optional<T>* incoming = nullptr;

 protected:
  ~channel_waiter() = default;
};

}  // namespace trident::sync

// This header's names under their 0.1 spelling, directly in `trident::`: deprecated until 0.3.
#define TRIDENT_SYNC_CHANNEL_WAITER_HPP
#include "trident/sync/deprecated_names.hpp"
