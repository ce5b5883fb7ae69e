#pragma once
/// @file
/// The low-level completion hook of `future<T>`: what an upper layer (the event loop's
/// `aio::wrap_future`, a user's own scheduler) registers to learn that a future became ready
/// without blocking a thread on it. Like Trio's `trio.lowlevel`: public, documented, and few;
/// most code wants `future::get`, `as_completed` or `co_await aio::wrap_future(f)` instead.

#include "trident/core/errors.hpp"

namespace trident::exec {

/// A hook that a future fires once when it becomes ready. Derive from it (or embed it first)
/// and point `fire` at a function that recovers the derived node; see `add_continuation`.
struct continuation {
  continuation* next = nullptr;  ///< The future's list link while registered; not yours to touch.
  void (*fire)(continuation* self) noexcept = nullptr;
};

template <class T>
class future;

/// Registers `c` to fire once `f` is ready (value, exception, or cancellation).
///
/// @par Contract
/// - Returns false, registering nothing, if `f` is ready already: the caller then acts as if
///   `c` had fired (on its own thread). Otherwise `c.fire(&c)` runs **exactly once**.
/// - `fire` runs on the thread that makes the future ready: a pool worker that finished the
///   task, a process pool's I/O thread, the thread that calls `promise::set_value`, or the
///   thread that calls `future::cancel()`. It may run before `add_continuation` returns to its
///   caller, as soon as the node is linked.
/// - Inside `fire`: do little and never block — post to a loop, push to a queue, wake a
///   thread. Do not wait on futures, do not shut down the pool that completes the future, and
///   do not throw (`fire` is noexcept). The result is published before `fire` runs, so a
///   `future::ready()` seen by whoever `fire` wakes is true.
/// - Ownership: the future keeps a pointer to `c` from registration until `fire`; `c` must
///   stay alive until then, and `fire` owns it afterwards (typically `delete`s it). There is
///   no way to withdraw a registered continuation: a waiter that gives up (a cancelled
///   coroutine) detaches by leaving a mark in state it shares with the node, and `fire` finds
///   the mark. Dropping or moving the `future` does not stop `fire`: the result's state lives
///   until it is ready.
/// - A future whose work never finishes (a task stuck forever) never fires; pools finish or
///   cancel every task they accepted when shut down, and a destroyed `promise` fires with
///   `broken_promise_error`.
///
/// @par Thread safety
/// `add_continuation` may be called from any thread, concurrently with the producer and with
/// other registrations on the same future; the future itself follows its usual rule (one user
/// at a time).
///
/// @code
///   struct wake_me final : trident::exec::continuation {
///     explicit wake_me(std::shared_ptr<my_state> s) : state(std::move(s)) { fire = &on_fire; }
///     static void on_fire(trident::exec::continuation* c) noexcept {
///       auto* self = static_cast<wake_me*>(c);
///       self->state->notify();
///       delete self;
///     }
///     std::shared_ptr<my_state> state;
///   };
///   auto* node = new wake_me(state);
///   if (!trident::exec::add_continuation(f, *node)) { delete node; state->notify(); }
/// @endcode
template <class T>
[[nodiscard]] bool add_continuation(const future<T>& f, continuation& c) {
  auto* state = f.state();
  if (state == nullptr) throw future_error("add_continuation: future has no state");
  return state->add_continuation(&c);
}

}  // namespace trident::exec

// This header's names under their 0.1 spelling, directly in `trident::`: deprecated until 0.3.
#define TRIDENT_EXEC_CONTINUATION_HPP
#include "trident/exec/deprecated_names.hpp"
