#pragma once
/// @file
/// `aio::semaphore`: a counter of permits that coroutines wait on (Python's `asyncio.Semaphore`),
/// and `semaphore_permit`, a permit released by its destructor.

#include <coroutine>
#include <cstddef>
#include <utility>

#include "trident/aio/detail/wait_list.hpp"
#include "trident/aio/event_loop.hpp"
#include "trident/aio/task.hpp"
#include "trident/core/errors.hpp"

namespace trident::aio {

class semaphore;

/// One permit of a `semaphore`, given back when the permit is destroyed (or `release()`d). The
/// counterpart of `async with sem:`. Move-only; a moved-from permit holds nothing.
class [[nodiscard]] semaphore_permit {
 public:
  semaphore_permit() noexcept = default;
  explicit semaphore_permit(semaphore& s) noexcept : sem_(&s) {}
  semaphore_permit(semaphore_permit&& o) noexcept : sem_(std::exchange(o.sem_, nullptr)) {}
  semaphore_permit& operator=(semaphore_permit&& o) noexcept {
    if (this != &o) {
      release();
      sem_ = std::exchange(o.sem_, nullptr);
    }
    return *this;
  }
  semaphore_permit(const semaphore_permit&) = delete;
  semaphore_permit& operator=(const semaphore_permit&) = delete;
  ~semaphore_permit() { release(); }

  /// Gives the permit back now (no-op if it holds none).
  inline void release();
  [[nodiscard]] bool owns_permit() const noexcept { return sem_ != nullptr; }

 private:
  semaphore* sem_ = nullptr;
};

/// A counting semaphore for coroutines: `acquire` takes a permit, waiting while there is none;
/// `release` gives one back (Python's `asyncio.Semaphore`). Used to bound concurrency, e.g. at
/// most N downloads in flight.
///
/// Fair: waiters are served first come, first served. `release` hands its permit straight to the
/// longest waiter (no barging: a task that calls `try_acquire` or `acquire` between the release
/// and the waiter's resumption does not get it). `release` may raise the count above its initial
/// value, as in asyncio (there is no `BoundedSemaphore` check).
///
/// @par Thread safety
/// Loop thread only, including construction and destruction. The semaphore must outlive every
/// coroutine waiting on it and every `semaphore_permit` of it.
///
/// @par Cancellation
/// `acquire()`/`hold()` are cancellation points, also when a permit is free: a task whose
/// cancellation is pending gets `cancelled_error` and no permit. Cancelling a waiting task
/// removes it from the queue; the other waiters keep their places. Cancel safety: a cancelled
/// acquire never leaks a permit — if the permit was already handed to the waiter when it sees
/// the cancellation, it passes the permit on to the next waiter (or back to the count) before
/// `cancelled_error` propagates. A permit held through `hold()` is released when the
/// cancellation unwinds the holder.
///
/// @code
///   aio::semaphore sem(3);  // at most 3 fetches at once
///   aio::task<std::string> fetch_limited(std::string url) {
///     auto permit = co_await sem.hold();
///     co_return co_await fetch(url);
///   }  // permit released here, also on exception or cancellation
/// @endcode
class semaphore {
 public:
  /// A snapshot of the semaphore's state.
  struct statistics_t {
    std::size_t available = 0;
    std::size_t waiters = 0;
  };

  /// Awaiter of `acquire()`; for Trident's primitives built on it.
  class acquire_awaiter : protected detail::parked_awaiter {
   public:
    explicit acquire_awaiter(semaphore& s) noexcept : sem_(s) {}

    bool await_ready() const noexcept { return false; }

    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> h) {
      if (bind(h)) return false;  // cancellation pending: await_resume throws
      if (sem_.try_acquire()) {
        acquired_ = true;
        return false;
      }
      park(h, sem_.waiters_);
      return true;
    }

    void await_resume() {
      const bool cancelled = finish();
      if (woken()) acquired_ = true;  // release() handed us its permit
      if (cancelled) {
        if (std::exchange(acquired_, false)) sem_.release();  // pass it on
        throw cancelled_error("cancelled while acquiring a semaphore");
      }
    }

   protected:
    semaphore& sem_;
    bool acquired_ = false;
  };

  /// Awaiter of `hold()`: `acquire()` returning the permit as a `semaphore_permit`.
  class hold_awaiter : public acquire_awaiter {
   public:
    using acquire_awaiter::acquire_awaiter;
    semaphore_permit await_resume() {
      acquire_awaiter::await_resume();
      return semaphore_permit(sem_);
    }
  };

  /// Starts with `initial` permits. Loop thread.
  explicit semaphore(std::size_t initial) noexcept : count_(initial) {}
  semaphore(const semaphore&) = delete;
  semaphore& operator=(const semaphore&) = delete;

  /// Takes a permit, waiting (in FIFO order) while there is none. Pair it with `release()`, or
  /// use `hold()`. A cancellation point.
  [[nodiscard]] acquire_awaiter acquire() noexcept { return acquire_awaiter(*this); }

  /// Takes a permit and returns it as a `semaphore_permit`, which releases it when destroyed
  /// (`async with sem:`). A cancellation point.
  [[nodiscard]] hold_awaiter hold() noexcept { return hold_awaiter(*this); }

  /// Takes a permit if one is free now. Never takes a permit while coroutines wait for one.
  bool try_acquire() noexcept {
    // count_ > 0 implies nobody waits: release() hands permits to waiters instead of counting.
    if (count_ == 0) return false;
    --count_;
    return true;
  }

  /// Gives a permit back: to the longest waiter if there is one (it resumes on a later loop
  /// step, already holding it), otherwise to the count.
  void release() {
    if (!waiters_.wake_front()) ++count_;
  }

  /// Free permits (0 while anyone waits).
  [[nodiscard]] std::size_t available() const noexcept { return count_; }
  /// Coroutines waiting in `acquire`/`hold`.
  [[nodiscard]] std::size_t waiters() const noexcept { return waiters_.size(); }
  /// Whether `acquire` would wait now (asyncio's `locked()`).
  [[nodiscard]] bool locked() const noexcept { return count_ == 0; }
  [[nodiscard]] statistics_t statistics() const noexcept { return {count_, waiters_.size()}; }

 private:
  std::size_t count_;
  detail::wait_list waiters_;
};

inline void semaphore_permit::release() {
  if (semaphore* s = std::exchange(sem_, nullptr)) s->release();
}

}  // namespace trident::aio
