#pragma once
/// @file
/// Low-level interface: the task context that cancellation travels through, and the protocol
/// every cancellable awaitable follows. Part of `aio/lowlevel.hpp` (see there for the whole
/// interface); for code that writes its own awaitables, as Trident's upper layers do.

#include <coroutine>
#include <type_traits>
#include <utility>

#include "trident/core/errors.hpp"

namespace trident::aio {

class event_loop;

namespace detail {
class promise_base;
}  // namespace detail

namespace lowlevel {

/// Per spawned task: how to cancel its current suspension. Shared by every
/// coroutine the task awaits (children inherit their parent's context), so a cancel reaches
/// whichever coroutine of the chain is suspended. The loop is not kept here: a task runs only
/// on the loop it was spawned on, so code running in it finds that loop as
/// `event_loop::current()` (8 bytes less per task). Loop thread only.
struct task_context {
  /// Set by a cancellable awaitable while its coroutine is suspended on it; cancelling calls it
  /// once, and it must arrange for the coroutine to be resumed (its `await_resume` then throws).
  /// The hook stays installed until `await_resume` clears it, so it must tolerate being called
  /// for a waiter that was already woken and scheduled (and then do nothing).
  void (*cancel_hook)(void* arg) = nullptr;
  void* hook_arg = nullptr;
  /// Called when the task's root coroutine (the one nobody awaits) reaches its end, with that
  /// coroutine: the owner takes the outcome and may destroy the frame.
  /// A spawned task's state is also freed through it, called with a null `root` when its last
  /// reference goes (one pointer serves both, so the state needs no virtual destructor).
  void (*root_done)(task_context* self, std::coroutine_handle<> root) noexcept = nullptr;
  /// Last, so that a derived state's small fields fill the padding after them (spawned tasks
  /// keep their flags and reference count there).
  bool cancel_requested = false;
  /// Whether this is a spawned task's state (`aio::spawn`, which has a name); otherwise the
  /// context of one child of a `gather`.
  bool spawned = false;

  /// Requests cancellation: the coroutine suspended on a Trident awaitable (if any) is woken
  /// through its hook and raises `cancelled_error`; otherwise the next suspension point does.
  void request_cancel() noexcept {
    cancel_requested = true;
    if (auto hook = std::exchange(cancel_hook, nullptr)) hook(hook_arg);
  }

  /// Consumes a pending cancellation request: true once per `cancel()`, like Python, where a
  /// task that catches CancelledError may go on awaiting.
  bool take_cancellation() noexcept { return std::exchange(cancel_requested, false); }
};

/// The task context of the coroutine whose promise is `p`, or nullptr for foreign coroutines.
template <class Promise>
task_context* context_of(Promise& p) noexcept {
  if constexpr (std::is_base_of_v<detail::promise_base, Promise>) {
    return p.context_;
  } else {
    return nullptr;
  }
}

/// The cancellation half that Trident's awaitables share:
///  1. `bind(h)` in `await_suspend` finds the awaiting task's context and says whether a
///     cancellation is already pending (then the awaitable does not suspend);
///  2. `arm(hook, arg)` once the awaitable is registered: cancelling the task calls `hook(arg)`,
///     which must unregister it and schedule the coroutine (tolerating an already woken one);
///  3. `end_wait(what)` in `await_resume` removes the hook and raises `cancelled_error` if the
///     task was cancelled.
class cancellable_wait {
 protected:
  template <class Promise>
  bool bind(std::coroutine_handle<Promise> h) noexcept {
    context_ = context_of(h.promise());
    return context_ != nullptr && context_->cancel_requested;
  }
  void arm(void (*hook)(void*), void* arg) noexcept {
    if (context_ == nullptr) return;
    context_->cancel_hook = hook;
    context_->hook_arg = arg;
  }
  void end_wait(const char* what) {
    if (context_ == nullptr) return;
    context_->cancel_hook = nullptr;
    if (context_->take_cancellation()) throw cancelled_error(what);
  }
  task_context* context_ = nullptr;
};

}  // namespace lowlevel

namespace detail {

/// Awaitable that never suspends and yields the awaiting task's context (nullptr outside a
/// Trident task).
struct current_context {
  lowlevel::task_context* context = nullptr;
  bool await_ready() const noexcept { return false; }
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) noexcept {
    context = lowlevel::context_of(h.promise());
    return false;
  }
  lowlevel::task_context* await_resume() const noexcept { return context; }
};

}  // namespace detail

}  // namespace trident::aio
