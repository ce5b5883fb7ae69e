#pragma once
/// @file
/// `aio::task<T>`: a lazy C++20 coroutine, the unit of asyncio-style code in Trident
/// (Python's coroutine object: nothing runs until it is awaited or spawned).

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "trident/aio/detail/frame_allocator.hpp"
#include "trident/aio/lowlevel/task_context.hpp"
#include "trident/core/errors.hpp"

namespace trident::aio {

class event_loop;

namespace detail {

class promise_base {
 public:
  // Frames come from the per-thread recycling cache: a short-lived `co_await child()` then
  // costs no trip to the heap.
  static void* operator new(std::size_t size) { return frame_allocator::allocate(size); }
  static void operator delete(void* frame, std::size_t size) noexcept { frame_allocator::deallocate(frame, size); }

  /// Lazy start. A spawned task (the root of its chain: nobody awaits it) that was cancelled
  /// before its first step does not run its body at all: the cancellation is raised here,
  /// before the body, and ends the task as its outcome.
  ///
  /// The awaiter finds the promise by its distance from itself, not by a pointer: both live in
  /// the coroutine's frame, and a 4-byte awaiter fits the padding after g++'s frame header
  /// where a pointer took 8 more bytes of every frame (`co_await sleep(1s)`'s frame: 120 bytes,
  /// not 128). Set in `await_suspend`, read in `await_resume`: the same object, in place.
  struct initial_awaiter {
    std::int32_t promise_offset = 0;
    bool await_ready() const noexcept { return false; }
    template <class Promise>
    void await_suspend(std::coroutine_handle<Promise> self) noexcept {
      const promise_base* promise = &self.promise();
      promise_offset =
          static_cast<std::int32_t>(reinterpret_cast<std::intptr_t>(promise) - reinterpret_cast<std::intptr_t>(this));
    }
    void await_resume() const {
      auto* promise = reinterpret_cast<promise_base*>(reinterpret_cast<std::intptr_t>(this) + promise_offset);
      if (!promise->continuation_ && promise->context_ != nullptr && promise->context_->take_cancellation()) {
        throw cancelled_error("task was cancelled before it started");
      }
    }
  };

  struct final_awaiter {
    bool await_ready() const noexcept { return false; }
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> self) noexcept {
      auto& p = self.promise();
      // Symmetric transfer: the awaiting coroutine resumes in place of this one, without
      // growing the stack, at any optimisation level.
      if (p.continuation_) return p.continuation_;
      // A spawned root: its owner takes the outcome (and may destroy this frame).
      p.context_->root_done(p.context_, self);
      return std::noop_coroutine();
    }
    void await_resume() const noexcept {}
  };

  initial_awaiter initial_suspend() noexcept { return {}; }
  final_awaiter final_suspend() const noexcept { return {}; }
  void unhandled_exception() noexcept { error_ = std::current_exception(); }

  std::coroutine_handle<> continuation_;  ///< Who awaits this coroutine; none for a spawned root.
  std::exception_ptr error_;
  lowlevel::task_context* context_ = nullptr;
};

/// Where a task's result waits for its awaiter: a value, or nothing for `task<void>`.
template <class T>
struct value_promise : promise_base {
  template <class U>
  void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    value_.emplace(std::forward<U>(v));
  }
  T take() { return std::move(*value_); }
  std::optional<T> value_;
};

template <>
struct value_promise<void> : promise_base {
  void return_void() noexcept {}
  void take() noexcept {}
};

}  // namespace detail

/// A coroutine returning `T`, started when awaited (`co_await t`) or spawned on an event loop.
///
/// - Lazy: creating a task runs nothing. Awaiting it runs it on the awaiting coroutine's thread
///   and returns its value or rethrows its exception.
/// - Symmetric transfer on both ends, so long `co_await` chains never grow the stack, also at -O0.
/// - Move-only. Awaiting a task a second time throws `std::logic_error`.
///
/// @par Cancellation
/// A task awaited by another inherits the awaiting task's cancellation: cancelling the spawned
/// task raises `cancelled_error` at whichever Trident awaitable the chain is suspended on.
///
/// @code
///   aio::task<int> answer() { co_await aio::sleep(10ms); co_return 42; }
///   aio::task<void> main_task() { int v = co_await answer(); }
/// @endcode
template <class T = void>
class [[nodiscard]] task {
 public:
  struct promise_type : detail::value_promise<T> {
    task get_return_object() noexcept { return task(std::coroutine_handle<promise_type>::from_promise(*this)); }
  };
  using value_type = T;

  task() noexcept = default;
  task(task&& other) noexcept
      : handle_(std::exchange(other.handle_, nullptr)), consumed_(std::exchange(other.consumed_, false)) {}
  task& operator=(task&& other) noexcept {
    if (this != &other) {
      if (handle_) handle_.destroy();
      handle_ = std::exchange(other.handle_, nullptr);
      consumed_ = std::exchange(other.consumed_, false);
    }
    return *this;
  }
  task(const task&) = delete;
  task& operator=(const task&) = delete;
  ~task() {
    if (handle_) handle_.destroy();
  }

  /// Whether the coroutine ran to its end.
  [[nodiscard]] bool done() const noexcept { return handle_ && handle_.done(); }

  auto operator co_await() & noexcept { return awaiter{this}; }
  auto operator co_await() && noexcept { return awaiter{this}; }

  /// For Trident's runtime: the coroutine, and giving it up.
  [[nodiscard]] std::coroutine_handle<promise_type> handle() const noexcept { return handle_; }
  std::coroutine_handle<promise_type> release() noexcept { return std::exchange(handle_, nullptr); }

 private:
  explicit task(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}

  struct awaiter {
    task* self;
    bool await_ready() const noexcept { return !self->handle_ || self->handle_.done(); }
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> caller) noexcept {
      auto& p = self->handle_.promise();
      p.continuation_ = caller;
      p.context_ = lowlevel::context_of(caller.promise());
      return self->handle_;
    }
    T await_resume() {
      if (!self->handle_) throw std::logic_error("co_await on a task that has no coroutine (moved from?)");
      auto& p = self->handle_.promise();
      if (self->consumed_) throw std::logic_error("task awaited twice: its result was already taken");
      self->consumed_ = true;
      if (p.error_) std::rethrow_exception(p.error_);
      return p.take();
    }
  };

  std::coroutine_handle<promise_type> handle_;
  bool consumed_ = false;
};

}  // namespace trident::aio
