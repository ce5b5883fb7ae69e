#pragma once
/// @file
/// Low-level interface: a coroutine that another thread wakes up — a future became ready, a
/// queue in shared memory became readable. Part of `aio/lowlevel.hpp`; `aio::wrap_future` and
/// the process layer's queue awaitables are built on it.
///
/// Use: on the loop thread, fill a shared `remote_wait_state` (waiter, loop, context) and hand
/// a copy of the pointer, with `loop.endpoint()`, to the waking side; that side calls
/// `post_resume` from any thread. A cancellation on the loop thread calls `resume()` itself:
/// whichever of the two comes second finds the waiter cleared and does nothing.

#include <coroutine>
#include <exception>
#include <functional>
#include <memory>
#include <utility>

#include "trident/aio/event_loop.hpp"
#include "trident/aio/lowlevel/task_context.hpp"

namespace trident::aio::lowlevel {

/// A coroutine suspended until another thread says it may go on (a future became ready, a
/// queue in shared memory became readable). Shared by the awaiter (loop thread) and the
/// wake-up posted to the loop (run on the loop thread): whichever comes second finds `waiter`
/// cleared, so a late wake-up after a cancellation touches no freed frame.
struct remote_wait_state {
  std::coroutine_handle<> waiter;  // loop thread only; cleared when resumed or abandoned
  event_loop* loop = nullptr;
  const task_context* context = nullptr;

  /// Loop thread: resumes the waiter unless it was resumed already.
  void resume() {
    if (auto w = std::exchange(waiter, nullptr)) loop->schedule(w, context);
  }
};

/// Any thread: posts `state->resume()` to the loop behind `endpoint`, dropped if that loop has
/// ended. Terminates if the post cannot allocate: a lost wake-up would leave the task
/// suspended forever.
inline void post_resume(remote_endpoint& endpoint, std::shared_ptr<remote_wait_state> state) noexcept {
  try {
    post(endpoint, [state = std::move(state)] { state->resume(); });
  } catch (...) {
    std::terminate();
  }
}

}  // namespace trident::aio::lowlevel
