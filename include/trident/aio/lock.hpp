#pragma once
/// @file
/// `aio::lock`: mutual exclusion between coroutines of one loop (Python's `asyncio.Lock`), and
/// `lock_guard`, which unlocks in its destructor.

#include <cstddef>
#include <stdexcept>
#include <utility>

#include "trident/aio/semaphore.hpp"

namespace trident::aio {

class lock;

/// Ownership of an `aio::lock`, given up by the destructor (or `unlock()`). The counterpart of
/// `async with lock:`. Move-only.
class [[nodiscard]] lock_guard {
 public:
  lock_guard() noexcept = default;
  explicit lock_guard(lock& l) noexcept : lock_(&l) {}
  lock_guard(lock_guard&& o) noexcept : lock_(std::exchange(o.lock_, nullptr)) {}
  lock_guard& operator=(lock_guard&& o) noexcept {
    if (this != &o) {
      unlock();
      lock_ = std::exchange(o.lock_, nullptr);
    }
    return *this;
  }
  lock_guard(const lock_guard&) = delete;
  lock_guard& operator=(const lock_guard&) = delete;
  ~lock_guard() { unlock(); }

  /// Releases the lock now (no-op if this guard holds none).
  inline void unlock();
  [[nodiscard]] bool owns_lock() const noexcept { return lock_ != nullptr; }
  /// The lock held, or nullptr.
  [[nodiscard]] lock* mutex() const noexcept { return lock_; }

 private:
  lock* lock_ = nullptr;
};

/// A non-reentrant lock for coroutines (Python's `asyncio.Lock`). Fair: waiters get the lock in
/// arrival order, handed over by `release()` (no barging). Like asyncio's, it has no owner:
/// any coroutine may release it, and acquiring it twice from one task deadlocks.
///
/// @par Thread safety
/// Loop thread only. The lock must outlive its waiters and guards.
///
/// @par Cancellation
/// `acquire()`/`scoped()` are cancellation points (also when the lock is free). A cancelled
/// waiter leaves the queue; if the lock had already been handed to it, it passes the lock to
/// the next waiter (or unlocks it) before `cancelled_error` propagates, so a cancellation never
/// leaves the lock held by nobody. A `lock_guard` unlocks as the cancellation unwinds.
///
/// @code
///   aio::lock l;
///   aio::task<void> add(int& shared) {
///     auto guard = co_await l.scoped();
///     int v = shared;
///     co_await aio::sleep(1ms);  // other tasks run, but none enters here
///     shared = v + 1;
///   }
/// @endcode
class lock {
 public:
  /// Awaiter of `scoped()`.
  class scoped_awaiter : public semaphore::acquire_awaiter {
   public:
    scoped_awaiter(semaphore& s, lock& l) noexcept : acquire_awaiter(s), lock_(l) {}
    lock_guard await_resume() {
      acquire_awaiter::await_resume();
      return lock_guard(lock_);
    }

   private:
    lock& lock_;
  };

  lock() noexcept = default;
  lock(const lock&) = delete;
  lock& operator=(const lock&) = delete;

  /// Takes the lock, waiting (FIFO) while it is held. Pair with `release()`, or use `scoped()`.
  [[nodiscard]] semaphore::acquire_awaiter acquire() noexcept { return sem_.acquire(); }
  /// Takes the lock and returns a guard that releases it.
  [[nodiscard]] scoped_awaiter scoped() noexcept { return scoped_awaiter(sem_, *this); }
  /// Takes the lock if it is free and nobody waits.
  bool try_acquire() noexcept { return sem_.try_acquire(); }
  /// Releases the lock, handing it to the longest waiter. Throws std::logic_error if it is not
  /// locked (asyncio raises RuntimeError).
  void release() {
    if (!locked()) throw std::logic_error("aio::lock::release on an unlocked lock");
    sem_.release();
  }
  [[nodiscard]] bool locked() const noexcept { return sem_.available() == 0; }
  [[nodiscard]] std::size_t waiters() const noexcept { return sem_.waiters(); }

 private:
  semaphore sem_{1};
};

inline void lock_guard::unlock() {
  if (lock* l = std::exchange(lock_, nullptr)) l->release();
}

}  // namespace trident::aio
