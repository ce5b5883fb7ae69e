#pragma once
/// @file
/// The process layer on the event loop: `aio::run_in(process_pool&, fn, args...)` (Python's
/// `loop.run_in_executor(ProcessPoolExecutor, ...)`), and `aio::receive` / `aio::send` for
/// `proc::queue` without blocking the loop. The verbs are aio's (trident/aio/run_in.hpp,
/// trident/aio/lowlevel/waitable_queue.hpp); this header gives `proc::queue` the waits they use.
///
/// @code
///   int n = co_await aio::run_in(pool, count_primes, lo, hi);    // a registered task on a worker
///   while (auto v = co_await aio::receive(q)) consume(*v);       // q: a proc::queue<T>
/// @endcode

#include <chrono>
#include <coroutine>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "trident/aio/event_loop.hpp"
#include "trident/aio/lowlevel/waitable_queue.hpp"
#include "trident/aio/run_in.hpp"
#include "trident/aio/task.hpp"
#include "trident/aio/wrap_future.hpp"
#include "trident/core/errors.hpp"
#include "trident/exec/future.hpp"
#include "trident/proc/process_pool.hpp"
#include "trident/proc/queue.hpp"
#include "trident/sync/channel_types.hpp"

namespace trident::proc::detail {

/// The awaitables' way to a queue's ring (a friend of `proc::queue`).
struct queue_access {
  template <class T>
  static shm_ring& ring(const queue<T>& q) {
    return q.ring();
  }
};

/// Suspends a coroutine until a `proc::queue`'s ring is readable or writable, through a
/// `ring_wake_hook` left with the ring's watcher thread (protocol in src/proc/queue/shm_ring.cpp).
/// The hook posts the wake-up to the loop; cancelling withdraws the hook (or, if it fired
/// already, leaves its post to find no waiter) and resumes the coroutine with
/// `cancelled_error`. The caller re-checks the queue after every resumption.
class proc_queue_wait : private aio::lowlevel::cancellable_wait {
 public:
  proc_queue_wait(detail::shm_ring& ring, detail::ring_readiness readiness) noexcept
      : ring_(ring), readiness_(readiness) {
    hook_.fire = &on_fire;
  }
  proc_queue_wait(const proc_queue_wait&) = delete;
  proc_queue_wait& operator=(const proc_queue_wait&) = delete;
  ~proc_queue_wait() {
    if (state_) (void)ring_.unwatch(readiness_, hook_);  // a frame destroyed while it waits
  }

  bool await_ready() const noexcept { return false; }

  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    if (bind(h)) return false;
    auto& loop = aio::event_loop::running();
    state_ = std::make_shared<aio::lowlevel::remote_wait_state>();
    state_->waiter = h;
    state_->loop = &loop;
    state_->context = context_;
    hook_.state = state_;
    hook_.endpoint = loop.endpoint();
    ring_.watch(readiness_, hook_);
    arm(&on_cancel, this);
    return true;
  }

  void await_resume() { end_wait("cancelled while waiting on a proc::queue"); }

 private:
  struct hook final : detail::ring_wake_hook {
    std::shared_ptr<aio::lowlevel::remote_wait_state> state;
    std::shared_ptr<aio::lowlevel::remote_endpoint> endpoint;
  };

  /// Watcher thread, under its lock.
  static void on_fire(detail::ring_wake_hook* h) noexcept {
    auto* self = static_cast<hook*>(h);
    aio::lowlevel::post_resume(*self->endpoint, self->state);
  }

  static void on_cancel(void* arg) noexcept {
    auto* self = static_cast<proc_queue_wait*>(arg);
    (void)self->ring_.unwatch(self->readiness_, self->hook_);
    self->state_->resume();
  }

  detail::shm_ring& ring_;
  detail::ring_readiness readiness_;
  hook hook_;
  std::shared_ptr<aio::lowlevel::remote_wait_state> state_;
};

}  // namespace trident::proc::detail

namespace trident::proc {

// `aio::run_in(process_pool&, fn, args...)` needs nothing here: aio::run_in takes every executor
// whose `submit(fn, args...)` returns a `trident::exec::future` (trident/aio/run_in.hpp).

/// What `aio::receive(q)` waits on while `q` is empty: resumes when a value arrives (from any
/// process) or the queue is closed. Found by argument-dependent lookup
/// (trident/aio/lowlevel/waitable_queue.hpp), so the verb stays aio's own.
///
/// The coroutine waits without a thread of its own and without polling: it leaves a wake-up
/// hook with the queue handle's watcher thread, which sleeps on the queue's futex and posts the
/// wake-up to the loop (see src/proc/queue/shm_ring.cpp, docs/proc.md). The handle `q` must outlive
/// the wait (copies of it may come and go).
///
/// @par Cancellation
/// A cancellation point: cancelling the task withdraws the hook and raises `cancelled_error`.
template <class T>
[[nodiscard]] detail::proc_queue_wait wait_receivable(queue<T>& q) {
  return detail::proc_queue_wait(detail::queue_access::ring(q), detail::ring_readiness::readable);
}

/// What `aio::send(q, value)` waits on while `q` is full: resumes when a slot frees or the
/// queue is closed; as `wait_receivable` otherwise.
template <class T>
[[nodiscard]] detail::proc_queue_wait wait_sendable(queue<T>& q) {
  return detail::proc_queue_wait(detail::queue_access::ring(q), detail::ring_readiness::writable);
}

}  // namespace trident::proc
