#pragma once
/// @file
/// `future<T>` and `promise<T>`: the result of work that runs elsewhere (Python's
/// `concurrent.futures.Future`), with cancellation, deadlines, and waits that never deadlock a
/// thread pool.

#include <chrono>
#include <exception>
#include <type_traits>
#include <utility>

#include "trident/core/errors.hpp"
#include "trident/exec/detail/shared_state.hpp"

namespace trident::exec {

template <class T>
class promise;

/// What a non-blocking look at a future found (`future::status()`).
enum class future_state {
  pending,    ///< Not started yet; `cancel()` would still succeed.
  running,    ///< Started, not finished.
  succeeded,  ///< Finished with a value.
  failed,     ///< Finished with an exception.
  cancelled,  ///< Cancelled before it started.
};

/// What a timed wait (`future::wait_for`, `wait_until`) found, as `std::future_status`:
/// `ready` once the result is available, however the task ended (value, exception or
/// cancellation: `get()` will not block), `timeout` when the time ran out first.
/// `std::future_status::deferred` has no counterpart: a Trident future never defers its work
/// to the waiting thread.
enum class future_status {
  ready,    ///< The result is available; `get()` returns or throws at once.
  timeout,  ///< The time ran out before the result was available.
};

/// The eventual result of a task: a value, an exception, or cancellation.
///
/// A future is move-only and its result is retrieved once (`get()`, as with `std::future`); after
/// that `valid()` is false. Exceptions thrown by the task are rethrown by `get()` with their type
/// and message intact.
///
/// @par Waiting inside a thread pool
/// `wait()` and `get()` called on a worker thread of a `thread_pool` run other queued tasks of that
/// pool while the result is not ready, so nested submit-and-wait never deadlocks, even on a pool
/// of one worker. On any other thread they block without spinning.
///
/// @par Cancellation
/// `cancel()` stops a task that has not started: it will never run and `get()` throws
/// `cancelled_error`. A task that is already running is not interrupted.
///
/// @par Thread safety
/// One future is used by one thread at a time. Different futures of the same task do not exist.
///
/// @code
///   trident::exec::thread_pool pool(4);
///   auto answer = pool.submit([] { return 6 * 7; });
///   int v = answer.get();   // 42
/// @endcode
template <class T>
class future {
 public:
  using value_type = T;

  future() noexcept = default;
  future(future&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
  future& operator=(future&& other) noexcept {
    if (this != &other) {
      reset();
      state_ = std::exchange(other.state_, nullptr);
    }
    return *this;
  }
  future(const future&) = delete;
  future& operator=(const future&) = delete;
  ~future() { reset(); }

  /// Whether this future refers to a result not yet retrieved.
  [[nodiscard]] bool valid() const noexcept { return state_ != nullptr; }

  /// Whether the result is available (value, exception or cancellation); never blocks.
  [[nodiscard]] bool ready() const { return checked().is_done(); }

  /// The state of the task right now; never blocks.
  [[nodiscard]] future_state status() const {
    switch (checked().current()) {
      case exec::detail::status::pending:
        return future_state::pending;
      case exec::detail::status::running:
        return future_state::running;
      case exec::detail::status::value:
        return future_state::succeeded;
      case exec::detail::status::exception:
        return future_state::failed;
      case exec::detail::status::cancelled:
        return future_state::cancelled;
    }
    return future_state::pending;
  }

  /// Waits until the result is available.
  void wait() const { exec::detail::wait_for_state(checked()); }

  /// Waits at most `timeout` (as `std::future::wait_for`): `future_status::ready` if the result
  /// is available, `future_status::timeout` if not. Never `deferred` (see `future_status`).
  template <class Rep, class Period>
  [[nodiscard]] future_status wait_for(std::chrono::duration<Rep, Period> timeout) const {
    return wait_until(std::chrono::steady_clock::now() + timeout);
  }

  /// Waits until `deadline` (as `std::future::wait_until`); returns as `wait_for`.
  [[nodiscard]] future_status wait_until(std::chrono::steady_clock::time_point deadline) const {
    return exec::detail::wait_for_state_until(checked(), deadline) ? future_status::ready : future_status::timeout;
  }

  /// Waits for the result and returns it, or rethrows the task's exception, or throws
  /// `cancelled_error`. Afterwards the future is no longer valid.
  T get() {
    wait();
    exec::detail::shared_state<T>* s = state_;
    state_ = nullptr;
    struct releaser {
      exec::detail::shared_state<T>* s;
      ~releaser() { s->release(); }
    } guard{s};
    switch (s->current()) {
      case exec::detail::status::exception:
        std::rethrow_exception(s->error());
      case exec::detail::status::cancelled:
        throw cancelled_error("task was cancelled before it started");
      default:
        break;
    }
    if constexpr (std::is_void_v<T>) {
      return;
    } else {
      return std::move(s->value());
    }
  }

  /// Like `get()`, but throws `timeout_error` if the result is not available within `timeout`;
  /// the future stays valid then, so the caller may wait again or cancel.
  template <class Rep, class Period>
  T get_for(std::chrono::duration<Rep, Period> timeout) {
    if (wait_for(timeout) == future_status::timeout) throw timeout_error("future not ready within the timeout");
    return get();
  }

  /// Cancels the task if it has not started. Returns true if it will never run.
  bool cancel() { return checked().try_cancel(); }

  /// The exception the task ended with, or nullptr; never blocks, keeps the future valid.
  [[nodiscard]] std::exception_ptr exception() const {
    auto& s = checked();
    if (s.current() == exec::detail::status::cancelled) {
      return std::make_exception_ptr(cancelled_error("task was cancelled before it started"));
    }
    return s.current() == exec::detail::status::exception ? s.error() : nullptr;
  }

  /// For Trident's combinators: the shared state, or nullptr.
  [[nodiscard]] exec::detail::shared_state<T>* state() const noexcept { return state_; }

  /// Adopts a state whose reference the caller hands over.
  explicit future(exec::detail::shared_state<T>* adopted) noexcept : state_(adopted) {}

 private:
  exec::detail::shared_state<T>& checked() const {
    if (state_ == nullptr)
      throw future_error("future has no state (default-constructed, moved from, or already retrieved)");
    return *state_;
  }
  void reset() noexcept {
    if (state_ != nullptr) std::exchange(state_, nullptr)->release();
  }

  exec::detail::shared_state<T>* state_ = nullptr;
};

/// The producing end of a `future<T>`, for results computed outside a thread pool (a callback,
/// another event loop, a worker process). Destroying a promise that never set a result makes
/// the future throw `broken_promise_error`.
///
/// @par Thread safety
/// The promise and its future may be used from different threads. Setting a result twice throws
/// `future_error`; setting it after the consumer cancelled is ignored and returns false.
template <class T>
class promise {
 public:
  promise() : state_(new exec::detail::promise_state<T>()) {}
  promise(promise&& other) noexcept : state_(std::exchange(other.state_, nullptr)), retrieved_(other.retrieved_) {}
  promise& operator=(promise&& other) noexcept {
    if (this != &other) {
      abandon();
      state_ = std::exchange(other.state_, nullptr);
      retrieved_ = other.retrieved_;
    }
    return *this;
  }
  promise(const promise&) = delete;
  promise& operator=(const promise&) = delete;
  ~promise() { abandon(); }

  /// The future of this promise; may be called once.
  future<T> get_future() {
    if (state_ == nullptr || retrieved_) throw future_error("promise has no future to give");
    retrieved_ = true;  // the state was born with the future's reference
    return future<T>(static_cast<exec::detail::shared_state<T>*>(state_));
  }

  /// Publishes the value. Returns false if the future was cancelled first.
  template <class... Args>
  bool set_value(Args&&... args) {
    check_unsatisfied();
    if (state_->current() == exec::detail::status::cancelled) return false;
    state_->emplace(std::forward<Args>(args)...);
    return state_->finish(exec::detail::status::value);
  }

  /// Publishes an exception. Returns false if the future was cancelled first.
  bool set_exception(std::exception_ptr e) {
    check_unsatisfied();
    if (state_->current() == exec::detail::status::cancelled) return false;
    state_->set_error(std::move(e));
    return state_->finish(exec::detail::status::exception);
  }

  /// For producers that queue work before running it (a process pool): marks the work as
  /// started, after which the consumer's `future::cancel()` no longer succeeds. False if the
  /// consumer cancelled first (then drop the work) or it was already started.
  bool try_start() noexcept { return state_ != nullptr && state_->try_start(); }

  /// Cancels work that never started, as the consumer's `future::cancel()` would: the future
  /// then throws `cancelled_error`. False if the work had started or finished.
  bool try_cancel() noexcept { return state_ != nullptr && state_->try_cancel(); }

  /// Whether the consumer cancelled the future; a producer may stop early then.
  [[nodiscard]] bool is_cancelled() const noexcept {
    return state_ != nullptr && state_->current() == exec::detail::status::cancelled;
  }

 private:
  void check_unsatisfied() const {
    if (state_ == nullptr) throw future_error("promise has no state");
    const auto s = state_->current();
    if (s == exec::detail::status::value || s == exec::detail::status::exception) {
      throw future_error("promise already satisfied");
    }
  }
  void abandon() noexcept {
    if (state_ == nullptr) return;
    if (!state_->is_done()) {
      state_->set_error(std::make_exception_ptr(broken_promise_error()));
      state_->finish(exec::detail::status::exception);
    }
    // The future's reference was never handed out: drop it too.
    if (!retrieved_) state_->release();
    std::exchange(state_, nullptr)->release();
  }

  exec::detail::promise_state<T>* state_;
  bool retrieved_ = false;
};

/// A future that is already ready with `value`.
template <class T>
future<std::decay_t<T>> make_ready_future(T&& value) {
  promise<std::decay_t<T>> p;
  auto f = p.get_future();
  p.set_value(std::forward<T>(value));
  return f;
}

}  // namespace trident::exec

// This header's names under their 0.1 spelling, directly in `trident::`: deprecated until 0.3.
#define TRIDENT_EXEC_FUTURE_HPP
#include "trident/exec/deprecated_names.hpp"
