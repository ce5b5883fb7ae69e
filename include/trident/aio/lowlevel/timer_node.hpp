#pragma once
/// @file
/// Low-level interface: a timer in a loop's heap, and the loop's clock. Part of
/// `aio/lowlevel.hpp`.

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace trident::aio {

/// The clock of every loop's deadlines (a loop on virtual time moves its own `now()` on it).
using clock = std::chrono::steady_clock;

namespace lowlevel {

/// A timer in one loop's heap. Owned by whoever armed it (a sleeping coroutine's awaiter, a
/// driver such as the HTTP session's), which keeps it alive while armed.
///
/// Contract: `event_loop::arm(t)` with `deadline` and `fire` set (not already armed);
/// `event_loop::disarm(t)` before the node dies if it may still be armed. `fire` runs on the
/// loop thread once the deadline passes (on the loop's clock: virtual in tests), after the timer
/// was taken out of the heap, so it may re-arm the node. It must not throw and should only
/// schedule work (resume a coroutine, set a flag), not do it.
///
/// 24 bytes: it lives in the frame of every sleeping coroutine, so a million sleepers hold a
/// million of them.
struct timer_node {
  static constexpr std::uint32_t not_armed = UINT32_MAX;

  clock::time_point deadline{};
  void (*fire)(timer_node* self) noexcept = nullptr;
  /// The loop's: equal deadlines fire in arming order. Compared modulo 2^32, which orders any
  /// two timers armed fewer than 2^31 armings apart.
  std::uint32_t sequence = 0;
  std::uint32_t heap_index = not_armed;  ///< The loop's: `not_armed` while not armed.
};

}  // namespace lowlevel

}  // namespace trident::aio
