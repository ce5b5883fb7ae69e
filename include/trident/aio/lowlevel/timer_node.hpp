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
struct timer_node {
  clock::time_point deadline{};
  std::uint64_t sequence = 0;         ///< The loop's: equal deadlines fire in arming order.
  std::size_t heap_index = SIZE_MAX;  ///< The loop's: SIZE_MAX while not armed.
  void (*fire)(timer_node* self) noexcept = nullptr;
};

}  // namespace lowlevel

}  // namespace trident::aio
