#pragma once
/// @file
/// Low-level interface: a timer of a loop, and the loop's clock. Part of
/// `aio/lowlevel.hpp`.

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace trident::aio {

/// The clock of every loop's deadlines (a loop on virtual time moves its own `now()` on it).
using clock = std::chrono::steady_clock;

namespace lowlevel {

/// A timer of one loop (in its heap, or in its run of timers armed in deadline order). Owned by
/// whoever armed it (a sleeping coroutine's awaiter, a driver such as the HTTP session's),
/// which keeps it alive while armed.
///
/// Contract: `event_loop::arm(t)` with `deadline` and `fire` set (not already armed), and
/// `deadline` left alone until it fires or is disarmed (to move it: disarm, change, arm);
/// `event_loop::disarm(t)` before the node dies if it may still be armed. `fire` runs on the
/// loop thread once the deadline passes (on the loop's clock: virtual in tests), after the timer
/// was taken out of the loop's timers, so it may re-arm the node. It must not throw and should
/// only schedule work (resume a coroutine, set a flag), not do it.
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
  /// The loop's: where the timer is (heap or run), `not_armed` while not armed.
  std::uint32_t heap_index = not_armed;
};

}  // namespace lowlevel

}  // namespace trident::aio
