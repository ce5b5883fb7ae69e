#pragma once
// Helpers shared by the sync unit tests.

#include <chrono>
#include <sstream>
#include <string>
#include <thread>

#include "trident/sync/lock_order.hpp"

namespace trident::testing {

#if defined(__SANITIZE_THREAD__)
/// ThreadSanitizer's own deadlock detector reports any two real acquisitions in opposite
/// orders. The few tests that do that on purpose (with checking off, or after the order graph
/// forgot an order) skip that step under it; everywhere else trident reports the inversion
/// before the second lock is taken, so ThreadSanitizer never sees it.
inline constexpr bool under_thread_sanitizer = true;
#else
inline constexpr bool under_thread_sanitizer = false;
#endif

/// Waits (yielding) until `condition()` holds; false after a generous limit so that a broken
/// implementation fails the test instead of hanging it. Used to observe that another thread has
/// really blocked (a state the object reports), never as a sleep that is "long enough".
template <class Condition>
bool eventually(Condition condition, std::chrono::steady_clock::duration limit = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

template <class T>
std::string to_text(const T& value) {
  std::ostringstream os;
  os << value;
  return os.str();
}

/// Sets lock-order checking for one scope and restores the previous setting.
class lock_order_scope {
 public:
  explicit lock_order_scope(bool on) : previous_(sync::lock_order::enabled()) { sync::lock_order::set_enabled(on); }
  ~lock_order_scope() { sync::lock_order::set_enabled(previous_); }
  lock_order_scope(const lock_order_scope&) = delete;
  lock_order_scope& operator=(const lock_order_scope&) = delete;

 private:
  bool previous_;
};

}  // namespace trident::testing
