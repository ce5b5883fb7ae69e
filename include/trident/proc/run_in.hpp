#pragma once
/// @file
/// The process layer on the event loop: `aio::run_in(process_pool&, fn, args...)` (Python's
/// `loop.run_in_executor(ProcessPoolExecutor, ...)`), and `aio::receive` / `aio::send` for
/// `proc::queue` without blocking the loop.

#include <chrono>
#include <coroutine>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "trident/aio/event_loop.hpp"
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
/// `ring_wake_hook` left with the ring's watcher thread (protocol in src/proc/shm_ring.cpp).
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

namespace trident::aio {

/// Runs the registered task `fn(args...)` on a worker process of `pool` and resumes the awaiting
/// coroutine with its result (or `remote_error`, `worker_crashed_error`, …) on the loop thread.
/// The loop keeps running other tasks meanwhile; no thread is blocked. Built on
/// `wrap_future(pool.submit(...))`.
///
/// @par Cancellation
/// A cancellation point: cancelling the awaiting task resumes it at once with
/// `cancelled_error`. If the task had not reached a worker yet it never runs; if it is running,
/// it finishes in its worker and the result is dropped.
///
/// @code
///   int n = co_await aio::run_in(pool, count_primes, lo, hi);
/// @endcode
template <class R, class... P, class... Args>
auto run_in(proc::process_pool& pool, R (*fn)(P...), Args&&... args) {
  return wrap_future(pool.submit(fn, std::forward<Args>(args)...));
}

/// Receives the next value of `q` from a coroutine without blocking the loop: the value, or
/// nullopt once `q` is closed and drained — the verb of `aio::receive(channel)` and
/// `aio::receive(aio::queue)`.
///
/// While `q` is empty the coroutine waits without a thread of its own and without polling: it
/// leaves a wake-up hook with the queue handle's watcher thread, which sleeps on the queue's
/// futex and posts the wake-up to the loop when a value arrives (from any process) or the
/// queue is closed (see src/proc/shm_ring.cpp, docs/proc.md). The handle `q` must outlive the
/// call (copies of it may come and go).
///
/// @par Cancellation
/// A cancellation point while it waits. Cancel-safe: a cancelled `receive` has taken nothing.
template <class T>
task<std::optional<T>> receive(proc::queue<T>& q) {
  for (;;) {
    receive_result<T> r = q.try_receive();
    if (r.status == receive_status::ok) co_return std::move(r.value);
    if (r.status == receive_status::closed) co_return std::nullopt;
    proc::detail::proc_queue_wait readable(proc::detail::queue_access::ring(q), proc::detail::ring_readiness::readable);
    co_await readable;
  }
}

/// Sends `value` on `q` from a coroutine without blocking the loop, waiting (as `receive`
/// does, without a thread or polling) while `q` is full. Throws `channel_closed_error` if `q`
/// is or gets closed, std::length_error if the value does not fit a slot. The handle `q` must
/// outlive the call.
///
/// @par Cancellation
/// A cancellation point while it waits. Cancel-safe: a cancelled `send` delivered nothing.
template <class T>
task<void> send(proc::queue<T>& q, std::type_identity_t<T> value) {
  for (;;) {
    const send_status s = q.try_send(value);
    if (s == send_status::ok) co_return;
    if (s == send_status::closed) throw channel_closed_error("proc::queue is closed; the value was not delivered");
    proc::detail::proc_queue_wait writable(proc::detail::queue_access::ring(q), proc::detail::ring_readiness::writable);
    co_await writable;
  }
}

}  // namespace trident::aio
