#pragma once
/// @file
/// `trident::sync::synchronized<T>`: a value that can only be reached while its lock is held.

#include <concepts>
#include <functional>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>

#include "trident/core/source_location.hpp"
#include "trident/sync/mutex.hpp"

namespace trident::sync {

/// Names the lock of a `synchronized` value: `synchronized<int> hits{lock_name{"hits"}, 0}`.
struct lock_name {
  std::string value;
};

/// A `T` guarded by its own `Mutex` (default `trident::sync::mutex`), reachable only through a held
/// lock: `with_lock(fn)` runs `fn(T&)` under the lock, `lock()` returns a guard that acts as a
/// pointer to `T` and unlocks when destroyed. The const overloads hand out `const T&`.
///
/// **Thread safety.** Every member may be called from any thread. References that escape `fn`
/// or outlive the guard are unprotected; do not keep them.
///
/// **Lock order.** With `trident::sync::mutex`, `lock()` and `with_lock()` record the caller's source
/// location, so a lock-order error names the caller's line. Neither is re-entrant: calling
/// `with_lock` on the same object inside `fn` throws `lock_order_error` when checking is on
/// (and deadlocks when it is off, as with any non-recursive mutex).
///
/// @code
/// trident::sync::synchronized<std::vector<int>> log{trident::sync::lock_name{"log"}};
/// log.with_lock([](auto& v) { v.push_back(1); });
/// auto size = log.lock()->size();
/// @endcode
template <class T, class Mutex = trident::sync::mutex>
class synchronized {
 public:
  /// Owning guard that acts as a pointer to the guarded value; `U` is `T` or `const T`.
  template <class U>
  class guard {
   public:
    guard(std::unique_lock<Mutex> lock, U& value) noexcept : lock_(std::move(lock)), value_(&value) {}
    U* operator->() const noexcept { return value_; }
    U& operator*() const noexcept { return *value_; }
    /// Unlocks before the guard goes out of scope; the guard must not be used afterwards.
    void unlock() { lock_.unlock(); }

   private:
    std::unique_lock<Mutex> lock_;
    U* value_;
  };

  /// Constructs the value from `args` (value-initialised with no arguments).
  template <class... Args>
    requires std::constructible_from<T, Args...>
  explicit synchronized(Args&&... args) : value_(std::forward<Args>(args)...) {}

  /// Constructs a named lock and the value from `args`.
  template <class... Args>
    requires std::constructible_from<T, Args...> && std::constructible_from<Mutex, std::string>
  explicit synchronized(lock_name name, Args&&... args)
      : mutex_(std::move(name.value)), value_(std::forward<Args>(args)...) {}

  synchronized(const synchronized&) = delete;
  synchronized& operator=(const synchronized&) = delete;

  /// Runs `fn(T&)` with the lock held and returns what it returns.
  template <class F>
  decltype(auto) with_lock(F&& fn, source_location where = source_location::current()) {
    std::unique_lock lock = take(where);
    return std::invoke(std::forward<F>(fn), value_);
  }

  /// Runs `fn(const T&)` with the lock held and returns what it returns.
  template <class F>
  decltype(auto) with_lock(F&& fn, source_location where = source_location::current()) const {
    std::unique_lock lock = take(where);
    return std::invoke(std::forward<F>(fn), std::as_const(value_));
  }

  /// Locks and returns a guard through which the value is reached.
  [[nodiscard]] guard<T> lock(source_location where = source_location::current()) {
    return guard<T>(take(where), value_);
  }

  [[nodiscard]] guard<const T> lock(source_location where = source_location::current()) const {
    return guard<const T>(take(where), value_);
  }

  /// The lock itself, for printing or for `std::scoped_lock` across several values.
  [[nodiscard]] Mutex& get_mutex() const noexcept { return mutex_; }

 private:
  std::unique_lock<Mutex> take(source_location where) const {
    if constexpr (requires(Mutex& m) { m.lock(where); }) {
      mutex_.lock(where);
      return std::unique_lock<Mutex>(mutex_, std::adopt_lock);
    } else {
      return std::unique_lock<Mutex>(mutex_);
    }
  }

  mutable Mutex mutex_;
  T value_;
};

}  // namespace trident::sync

// This header's names under their 0.1 spelling, directly in `trident::`: deprecated until 0.3.
#define TRIDENT_SYNC_SYNCHRONIZED_HPP
#include "trident/sync/deprecated_names.hpp"
