#pragma once
/// @file
/// The parking protocol shared by `aio::semaphore`, `lock`, `event`, `condition` and `queue`: an
/// intrusive FIFO of suspended coroutines, each woken at most once, either by the primitive
/// (which hands it what it waited for) or by the cancellation of its task.
///
/// One wait, step by step (loop thread only):
///   1. `await_suspend`: `bind(h)` finds the task context. If a cancellation is already pending,
///      the awaiter does not suspend; its `await_resume` then throws `cancelled_error`.
///   2. If the operation can complete at once it does, without suspending.
///   3. Otherwise `park(h, list)` links the node at the back of the list (state `waiting`) and
///      installs `on_cancel` as the task's cancel hook.
///   4. The primitive wakes it with `wake_front`/`wake_all`: unlinked, state `woken`, scheduled
///      on the loop. Whatever the waiter waited for (a permit, a reserved item) is handed over at
///      this moment, so no other coroutine can take it between the wake-up and the resumption.
///   5. Cancelled while `waiting`: `on_cancel` unlinks it (state `cancelled`) and schedules it.
///      Cancelled while `woken` (not yet resumed): nothing to unlink; `await_resume` sees the
///      pending cancellation and must pass on what it was handed (see each primitive).
///   6. `await_resume` calls `finish()`, which clears the hook and consumes the cancellation.
///
/// A primitive destroyed while coroutines still wait on it marks them `orphaned`: they stay
/// suspended until their task is cancelled (as the loop's shutdown does), and then unwind with
/// `cancelled_error` without touching the destroyed primitive.

#include <coroutine>
#include <cstddef>

#include "trident/aio/event_loop.hpp"
#include "trident/aio/task.hpp"

namespace trident::aio::detail {

class wait_list;

/// A coroutine parked on a primitive. Lives inside the awaiter, in the coroutine frame.
struct waiter_node {
  enum class state : unsigned char { idle, waiting, woken, cancelled, orphaned };

  waiter_node* prev = nullptr;
  waiter_node* next = nullptr;
  wait_list* list = nullptr;
  std::coroutine_handle<> handle;
  event_loop* loop = nullptr;
  lowlevel::task_context* context = nullptr;
  state st = state::idle;
  unsigned char reason = 0;  ///< Set by the waker, for primitives with several kinds of wake-up.
};

/// Intrusive FIFO of parked coroutines. Loop thread only. Not copyable or movable: nodes point
/// at it.
class wait_list {
 public:
  wait_list() = default;
  wait_list(const wait_list&) = delete;
  wait_list& operator=(const wait_list&) = delete;
  ~wait_list() {
    while (waiter_node* n = head_) {
      unlink(*n);
      n->st = waiter_node::state::orphaned;
    }
  }

  [[nodiscard]] bool empty() const noexcept { return head_ == nullptr; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

  /// Assumes `n` is not linked.
  void push_back(waiter_node& n) noexcept {
    n.list = this;
    n.prev = tail_;
    n.next = nullptr;
    if (tail_ != nullptr) {
      tail_->next = &n;
    } else {
      head_ = &n;
    }
    tail_ = &n;
    ++size_;
    n.st = waiter_node::state::waiting;
  }

  /// Assumes `n` is linked in this list. Leaves its state to the caller.
  void unlink(waiter_node& n) noexcept {
    if (n.prev != nullptr) {
      n.prev->next = n.next;
    } else {
      head_ = n.next;
    }
    if (n.next != nullptr) {
      n.next->prev = n.prev;
    } else {
      tail_ = n.prev;
    }
    n.prev = n.next = nullptr;
    --size_;
  }

  /// Wakes the longest waiter (step 4), telling it `reason`; returns false if there was none.
  bool wake_front(unsigned char reason = 0) {
    waiter_node* n = head_;
    if (n == nullptr) return false;
    unlink(*n);
    n->st = waiter_node::state::woken;
    n->reason = reason;
    n->loop->schedule(n->handle, n->context);
    return true;
  }

  /// Wakes every waiter, oldest first; returns how many.
  std::size_t wake_all(unsigned char reason = 0) {
    std::size_t n = 0;
    while (wake_front(reason)) ++n;
    return n;
  }

 private:
  waiter_node* head_ = nullptr;
  waiter_node* tail_ = nullptr;
  std::size_t size_ = 0;
};

/// Base of every parking awaiter: steps 1, 3, 5 and 6 of the protocol above.
class parked_awaiter : protected waiter_node {
 public:
  parked_awaiter() = default;
  parked_awaiter(const parked_awaiter&) = delete;
  parked_awaiter& operator=(const parked_awaiter&) = delete;
  /// A frame destroyed while parked (a loop torn down without running its tasks to the end)
  /// leaves the list.
  ~parked_awaiter() {
    if (st == state::waiting) list->unlink(*this);
  }

 protected:
  /// Step 1: remembers the task context; returns whether a cancellation is pending.
  template <class Promise>
  bool bind(std::coroutine_handle<Promise> h) noexcept {
    context = lowlevel::context_of(h.promise());
    return context != nullptr && context->cancel_requested;
  }

  /// Step 3.
  void park(std::coroutine_handle<> h, wait_list& l) {
    loop = &event_loop::running();
    handle = h;
    l.push_back(*this);
    if (context != nullptr) {
      context->cancel_hook = &on_cancel;
      context->hook_arg = static_cast<waiter_node*>(this);
    }
  }

  /// Step 6: returns whether the task was cancelled (consuming the request).
  bool finish() noexcept {
    if (context == nullptr) return false;
    context->cancel_hook = nullptr;
    return context->take_cancellation();
  }

  [[nodiscard]] bool woken() const noexcept { return st == state::woken; }
  /// What the waker passed to `wake_front`; meaningful when `woken()`.
  [[nodiscard]] unsigned char wake_reason() const noexcept { return reason; }

 private:
  static void on_cancel(void* arg) noexcept {
    auto* n = static_cast<waiter_node*>(arg);
    switch (n->st) {
      case state::waiting:
        n->list->unlink(*n);
        n->st = state::cancelled;
        n->loop->schedule(n->handle, n->context);
        break;
      case state::orphaned:
        n->st = state::cancelled;
        n->loop->schedule(n->handle, n->context);
        break;
      default:  // already woken and scheduled: await_resume sees the pending cancellation
        break;
    }
  }
};

}  // namespace trident::aio::detail
