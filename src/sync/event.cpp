/// @file
/// trident::sync::event: the parts that are not templates.

#include "trident/sync/event.hpp"

#include <fmt/format.h>

#include <ostream>

namespace trident::sync {

void event::set() {
  std::lock_guard lock{mutex_};
  if (set_) return;
  set_ = true;
  ++generation_;
  // Notified under the lock: a woken waiter cannot return (and destroy the event) before this
  // thread has finished with the condition variable.
  changed_.notify_all();
}

void event::clear() {
  std::lock_guard lock{mutex_};
  set_ = false;
}

bool event::is_set() const {
  std::lock_guard lock{mutex_};
  return set_;
}

void event::wait() {
  std::unique_lock lock{mutex_};
  if (set_) return;
  ++waiters_;
  const unsigned long long generation = generation_;
  changed_.wait(lock, [&] { return generation_ != generation; });
  --waiters_;
}

std::ostream& operator<<(std::ostream& os, const event& e) {
  std::lock_guard lock{e.mutex_};
  if (e.set_) return os << "event [set]";
  return os << fmt::format("event [unset, waiters:{}]", e.waiters_);
}

}  // namespace trident::sync
