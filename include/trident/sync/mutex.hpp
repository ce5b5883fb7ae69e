#pragma once
/// @file
/// `trident::sync::mutex`: `std::mutex` with a name, printable state and lock-order checking.

#include <iosfwd>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "trident/core/source_location.hpp"
#include "trident/sync/lock_order.hpp"

namespace trident::sync {

/// A mutual-exclusion lock that detects lock-order inversions instead of deadlocking.
///
/// Meets *Lockable*: works with `std::lock_guard`, `std::unique_lock`, `std::scoped_lock` and
/// `std::condition_variable_any`. Not recursive.
///
/// **Lock-order checking.** While `trident::sync::lock_order::enabled()` (see lock_order.hpp), every
/// blocking `lock()` records "held lock -> this lock" in a global order graph and throws
/// `trident::sync::lock_order_error` *before blocking* if that would close a cycle, or if the calling
/// thread already holds this mutex. `try_lock()` never records an order (it cannot deadlock),
/// but a mutex it takes counts as held for later `lock()` calls. `lock()` records the call site
/// through a defaulted `source_location`; `std::lock_guard` calls `lock()` from inside the
/// standard library, so use `scoped()` to get the caller's own file and line in error messages.
/// Destroying a mutex removes it from the graph (its address may be reused).
///
/// **Cost.** With checking off: one relaxed atomic load on `lock()` and one plain load of a
/// member on `unlock()` over `std::mutex`. With checking on: a thread-local list update per
/// lock, and with another lock held, a lookup in the global graph under its own internal lock
/// (a graph search only the first time a given pair of locks is nested).
///
/// **Thread safety.** All members may be called concurrently, with `std::mutex`'s rules:
/// `unlock()` only by the owning thread, no recursive locking.
///
/// **Printing.** `os << m` prints e.g. `mutex 'account' [locked]`; the state is a snapshot
/// (probing it may make a concurrent `try_lock()` fail spuriously, which `std::mutex` allows).
///
/// @code
/// trident::sync::mutex account_lock{"account"};
/// {
///   auto guard = account_lock.scoped();   // error messages name this line
///   balance += 10;
/// }
/// std::lock_guard plain{account_lock};    // also fine
/// @endcode
class mutex : public sync::detail::tracked_lock {
 public:
  using native_handle_type = std::mutex::native_handle_type;

  mutex() = default;
  /// A named mutex; the name appears in lock-order errors and when printed.
  explicit mutex(std::string name) noexcept : tracked_lock(std::move(name)) {}
  ~mutex() = default;

  /// Blocks until the mutex is taken. Throws lock_order_error (without blocking) when
  /// checking is on and taking it now could deadlock.
  void lock(source_location where = source_location::current()) {
    if (lock_order::enabled()) [[unlikely]] {
      lock_checked(where);
      return;
    }
    native_.lock();
  }

  /// Takes the mutex if it is free; never blocks and never records a lock order.
  [[nodiscard]] bool try_lock(source_location where = source_location::current()) {
    if (!native_.try_lock()) return false;
    if (lock_order::enabled()) [[unlikely]] {
      note_acquired_or_unlock(where);
    }
    return true;
  }

  void unlock() noexcept {
    if (tracked_) [[unlikely]] {
      note_released();
    }
    native_.unlock();
  }

  /// Locks (recording the caller's location) and returns the owning guard.
  [[nodiscard]] std::unique_lock<mutex> scoped(source_location where = source_location::current()) {
    lock(where);
    return std::unique_lock<mutex>(*this, std::adopt_lock);
  }

  using tracked_lock::name;

  [[nodiscard]] native_handle_type native_handle() { return native_.native_handle(); }

  /// Prints `mutex 'name' [locked]`, `mutex@0x... [unlocked]`, or `[locked by this thread]`
  /// when checking is on and the printing thread holds it.
  friend std::ostream& operator<<(std::ostream& os, const mutex& m);

 private:
  void lock_checked(source_location where);
  void note_acquired_or_unlock(source_location where);

  mutable std::mutex native_;
};

}  // namespace trident::sync

// This header's names under their 0.1 spelling, directly in `trident::`: deprecated until 0.3.
#define TRIDENT_SYNC_MUTEX_HPP
#include "trident/sync/deprecated_names.hpp"
