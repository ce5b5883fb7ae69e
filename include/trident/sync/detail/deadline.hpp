#pragma once
/// @file
/// Turning a relative timeout into a steady-clock deadline without overflow.

#include <chrono>

namespace trident::sync::detail {

/// `steady_clock::now() + timeout`, saturated at `time_point::max()` (so that
/// `duration::max()` means "wait forever" instead of overflowing into the past) and clamped at
/// `now()` for negative timeouts.
template <class Rep, class Period>
[[nodiscard]] std::chrono::steady_clock::time_point deadline_after(const std::chrono::duration<Rep, Period>& timeout) {
  using clock = std::chrono::steady_clock;
  const clock::time_point now = clock::now();
  if (timeout <= timeout.zero()) return now;
  // Compare in floating point seconds so that a huge timeout in any unit cannot overflow.
  using fsec = std::chrono::duration<long double>;
  if (fsec(timeout) >= fsec(clock::time_point::max() - now)) return clock::time_point::max();
  return now + std::chrono::ceil<clock::duration>(timeout);
}

}  // namespace trident::sync::detail
