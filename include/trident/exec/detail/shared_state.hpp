#pragma once
/// @file
/// The shared state behind `future<T>`: a status word, the result, and a lock-free list of
/// continuations that run once when the result is published.
///
/// Status protocol (one 32-bit word, so threads can futex-wait on it):
///   pending --try_start--> running --finish--> value | exception
///   pending --try_cancel-------------------------> cancelled
///   pending --finish (promise-backed states)------> value | exception
/// Bit 8 (`waiters_bit`) is set by a thread about to futex-wait, so `finish` issues the wake-up
/// system call only when someone sleeps.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include "trident/exec/continuation.hpp"
#include "trident/exec/detail/futex.hpp"

namespace trident::exec::detail {

enum class status : std::uint32_t { pending = 0, running = 1, value = 2, exception = 3, cancelled = 4 };

/// The public hook (exec/continuation.hpp states its contract), under the name the combinators
/// have always used.
using continuation = ::trident::exec::continuation;

class state_base {
 public:
  explicit state_base(std::uint32_t initial_refs) noexcept : refs_(initial_refs) {}
  state_base(const state_base&) = delete;
  state_base& operator=(const state_base&) = delete;

  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) destroy();
  }

  [[nodiscard]] status current() const noexcept {
    return static_cast<status>(status_.load(std::memory_order_acquire) & status_mask);
  }
  [[nodiscard]] bool is_done() const noexcept { return current() >= status::value; }

  /// pending -> running. False if the state was cancelled (or already started).
  bool try_start() noexcept { return transition(status::pending, status::running); }

  /// pending -> cancelled, then wakes waiters and runs continuations. False if the task already
  /// started or finished.
  bool try_cancel() noexcept {
    if (!transition(status::pending, status::cancelled)) return false;
    notify_done();
    return true;
  }

  /// Publishes a terminal status. Assumes the result or `error_` was written before the call and
  /// that no other thread publishes concurrently (the owner of a started task, or a promise).
  /// Returns false, publishing nothing, if the state was cancelled first.
  bool finish(status terminal) noexcept {
    std::uint32_t old = status_.load(std::memory_order_relaxed);
    do {
      if ((old & status_mask) >= static_cast<std::uint32_t>(status::value)) return false;
    } while (!status_.compare_exchange_weak(old, static_cast<std::uint32_t>(terminal), std::memory_order_acq_rel,
                                            std::memory_order_relaxed));
    if (old & waiters_bit) futex_wake(status_, INT32_MAX);
    run_continuations();
    return true;
  }

  /// Registers `c` to fire when the state is done. Returns false, without registering, if it is
  /// done already; the caller then acts as if `c` had fired.
  bool add_continuation(continuation* c) noexcept {
    continuation* head = continuations_.load(std::memory_order_acquire);
    do {
      if (head == closed()) return false;
      c->next = head;
    } while (!continuations_.compare_exchange_weak(head, c, std::memory_order_acq_rel, std::memory_order_acquire));
    return true;
  }

  /// Blocks the calling thread (without running other work) until the state is done.
  void block() noexcept {
    for (;;) {
      std::uint32_t s = status_.load(std::memory_order_acquire);
      if ((s & status_mask) >= static_cast<std::uint32_t>(status::value)) return;
      if (!(s & waiters_bit) && !status_.compare_exchange_weak(s, s | waiters_bit, std::memory_order_acq_rel)) {
        continue;
      }
      futex_wait(status_, s | waiters_bit);
    }
  }

  /// Like `block`, with a deadline. Returns whether the state is done.
  bool block_until(std::chrono::steady_clock::time_point deadline) noexcept {
    for (;;) {
      std::uint32_t s = status_.load(std::memory_order_acquire);
      if ((s & status_mask) >= static_cast<std::uint32_t>(status::value)) return true;
      if (!(s & waiters_bit) && !status_.compare_exchange_weak(s, s | waiters_bit, std::memory_order_acq_rel)) {
        continue;
      }
      if (!futex_wait_until(status_, s | waiters_bit, deadline)) return is_done();
    }
  }

  /// Returns a finished state to pending so it can be finished again. Assumes no thread waits on
  /// it, no continuation is registered, and no thread is still inside `finish`.
  void rearm() noexcept {
    status_.store(static_cast<std::uint32_t>(status::pending), std::memory_order_relaxed);
    continuations_.store(nullptr, std::memory_order_relaxed);
    error_ = nullptr;
  }

  /// The stored exception of a state in `status::exception`. Assumes `is_done()`.
  [[nodiscard]] const std::exception_ptr& error() const noexcept { return error_; }
  void set_error(std::exception_ptr e) noexcept { error_ = std::move(e); }

 protected:
  ~state_base() = default;
  virtual void destroy() noexcept = 0;

 private:
  static constexpr std::uint32_t status_mask = 0xff;
  static constexpr std::uint32_t waiters_bit = 0x100;
  static continuation* closed() noexcept { return reinterpret_cast<continuation*>(std::uintptr_t{1}); }

  bool transition(status from, status to) noexcept {
    std::uint32_t old = status_.load(std::memory_order_relaxed);
    do {
      if ((old & status_mask) != static_cast<std::uint32_t>(from)) return false;
    } while (!status_.compare_exchange_weak(old, (old & waiters_bit) | static_cast<std::uint32_t>(to),
                                            std::memory_order_acq_rel, std::memory_order_relaxed));
    return true;
  }

  void notify_done() noexcept {
    // Clear the waiters bit while waking: the terminal status is already published.
    std::uint32_t old = status_.fetch_and(status_mask, std::memory_order_acq_rel);
    if (old & waiters_bit) futex_wake(status_, INT32_MAX);
    run_continuations();
  }

  void run_continuations() noexcept {
    continuation* c = continuations_.exchange(closed(), std::memory_order_acq_rel);
    while (c != nullptr) {
      continuation* next = c->next;  // read first: `fire` may free the node
      c->fire(c);
      c = next;
    }
  }

  std::atomic<std::uint32_t> refs_;
  std::atomic<std::uint32_t> status_{0};
  std::atomic<continuation*> continuations_{nullptr};
  std::exception_ptr error_;
};

/// State holding a `T` (or nothing, for `void`).
template <class T>
class shared_state : public state_base {
 public:
  using state_base::state_base;

  template <class... Args>
  void emplace(Args&&... args) {
    value_.emplace(std::forward<Args>(args)...);
  }
  /// Assumes `current() == status::value`.
  T& value() noexcept { return *value_; }

 protected:
  ~shared_state() = default;

 private:
  std::optional<T> value_;
};

template <>
class shared_state<void> : public state_base {
 public:
  using state_base::state_base;
  void emplace() noexcept {}
  void value() noexcept {}

 protected:
  ~shared_state() = default;
};

/// A free-standing state (promise-backed), deleted when its last reference goes.
template <class T>
class promise_state final : public shared_state<T> {
 public:
  promise_state() noexcept : shared_state<T>(2) {}

 private:
  void destroy() noexcept override { delete this; }
};

/// How a thread waits for a state: pool workers install a context that runs queued tasks while
/// waiting; every other thread blocks. One per thread, set by the executor that owns the thread.
class blocking_context {
 public:
  virtual void wait(state_base& s) = 0;
  virtual bool wait_until(state_base& s, std::chrono::steady_clock::time_point deadline) = 0;

 protected:
  ~blocking_context() = default;
};

/// The calling thread's blocking context, or nullptr for a plain thread.
blocking_context*& current_blocking_context() noexcept;

inline void wait_for_state(state_base& s) {
  if (s.is_done()) return;
  if (auto* context = current_blocking_context()) {
    context->wait(s);
  } else {
    s.block();
  }
}

inline bool wait_for_state_until(state_base& s, std::chrono::steady_clock::time_point deadline) {
  if (s.is_done()) return true;
  if (auto* context = current_blocking_context()) return context->wait_until(s, deadline);
  return s.block_until(deadline);
}

}  // namespace trident::exec::detail
