#pragma once
/// @file
/// Thin wrappers over Linux futexes on `std::atomic<std::uint32_t>` words, for the waits that
/// `std::atomic::wait` cannot express: waits with a deadline.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace trident::exec::detail {

/// Blocks while `word` holds `expected`, until woken, a spurious wake-up, or `deadline`.
/// Returns false once the deadline has passed. Callers re-check their condition in a loop.
bool futex_wait_until(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                      std::chrono::steady_clock::time_point deadline) noexcept;

/// Blocks while `word` holds `expected`, until woken or a spurious wake-up.
void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected) noexcept;

/// Wakes up to `count` threads blocked on `word`.
void futex_wake(std::atomic<std::uint32_t>& word, int count) noexcept;

}  // namespace trident::exec::detail
