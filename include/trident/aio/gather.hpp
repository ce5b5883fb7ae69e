#pragma once
/// @file
/// `aio::gather`: run several tasks concurrently and collect their results in argument order
/// (Python's `asyncio.gather`, failing fast the structured way of asyncio's `TaskGroup` and
/// Trio's nursery), and `gather_outcomes`, which returns each result or exception
/// (`gather(..., return_exceptions=True)`).

#include <coroutine>
#include <cstddef>
#include <exception>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "trident/aio/event_loop.hpp"
#include "trident/aio/spawn.hpp"
#include "trident/aio/task.hpp"

namespace trident::aio {

/// `T`, or `std::monostate` for `void` (a task that returns nothing contributes an empty slot).
template <class T>
using result_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

/// A task's value or the exception it ended with.
template <class T>
class outcome {
 public:
  explicit outcome(result_t<T> v) : value_(std::move(v)) {}
  explicit outcome(std::exception_ptr e) : error_(std::move(e)) {}
  [[nodiscard]] bool has_value() const noexcept { return !error_; }
  [[nodiscard]] const std::exception_ptr& error() const noexcept { return error_; }
  /// The value; rethrows the exception if there is one.
  result_t<T>& value() {
    if (error_) std::rethrow_exception(error_);
    return *value_;
  }

 private:
  std::optional<result_t<T>> value_;
  std::exception_ptr error_;
};

namespace detail {

/// The outcome of a finished task. Assumes `h.done()`.
template <class T>
outcome<T> outcome_of(const task_handle<T>& h) {
  if (auto e = h.exception()) return outcome<T>(e);
  if constexpr (std::is_void_v<T>) {
    return outcome<T>(std::monostate{});
  } else {
    return outcome<T>(*h.value_slot());
  }
}

}  // namespace detail

namespace detail {

template <class T>
struct gather_group;

/// One child of a `gather` over a vector: its context (the child's coroutines point to it, so
/// it can be cancelled on its own) and, once it has ended, its outcome. All slots of a gather
/// live in one array in the gathering coroutine's frame: a child costs no allocation beyond
/// its own coroutine frame, and no registration with the loop (the gathering task is
/// registered, and cancelling it reaches every child through the wait below).
template <class T>
struct gather_slot : lowlevel::task_context {
  gather_group<T>* group = nullptr;
  std::coroutine_handle<> frame;  ///< The child's coroutine until it ends.
  std::optional<result_t<T>> value;
  std::exception_ptr error;

  /// `root_done`: the child ended; keep its outcome, free its frame, count it.
  static void take_outcome(lowlevel::task_context* context, std::coroutine_handle<> root) noexcept {
    auto* self = static_cast<gather_slot*>(context);
    auto child = std::coroutine_handle<typename task<T>::promise_type>::from_address(root.address());
    auto& promise = child.promise();
    if (promise.error_) {
      self->error = std::move(promise.error_);
    } else {
      try {
        if constexpr (std::is_void_v<T>) {
          self->value.emplace();
        } else {
          self->value.emplace(promise.take());
        }
      } catch (...) {  // the value's move constructor threw
        self->error = std::current_exception();
      }
    }
    child.destroy();
    self->frame = nullptr;
    if (self->error) self->group->child_failed(*self);
    self->group->child_ended();
  }

  void cancel() noexcept {
    if (frame) request_cancel();
  }
};

/// The children of one vector `gather` and the coroutine waiting for them. Loop thread only.
template <class T>
struct gather_group {
  /// `fail_fast`: the first child to fail cancels its siblings (`gather`); otherwise every child
  /// runs to its end (`gather_outcomes`).
  gather_group(std::vector<task<T>>& tasks, bool fail_fast)
      : slots(tasks.size()), remaining(tasks.size()), fail_fast(fail_fast) {}
  gather_group(const gather_group&) = delete;
  gather_group& operator=(const gather_group&) = delete;
  /// Frames of children that never ended (the loop is being destroyed with this gather
  /// suspended) go with the gather.
  ~gather_group() {
    for (auto& s : slots) {
      if (s.frame) std::exchange(s.frame, nullptr).destroy();
    }
  }

  /// Starts every child, in input order, on the calling (loop) thread at once: each runs until
  /// its first suspension (or its end) before the next starts, instead of waiting a loop step
  /// in the ready queue (asyncio's eager tasks). Under `fail_fast`, a child that fails while
  /// they start cancels the siblings already started, and the ones not yet started end with
  /// `cancelled_error` without running their bodies. `cancel_pending`: the gathering task was
  /// already cancelled, so every child ends so, none running its body.
  void start(std::vector<task<T>>& tasks, bool cancel_pending) {
    (void)event_loop::running();   // a clear error off the loop thread, before anything starts
    for (const auto& t : tasks) {  // all checked before any starts
      if (!t.handle()) throw std::logic_error("gather of a task that has no coroutine (moved from?)");
    }
    for (std::size_t i = 0; i < tasks.size(); ++i) {
      auto child = tasks[i].release();
      auto& slot = slots[i];
      slot.root_done = &gather_slot<T>::take_outcome;
      slot.group = this;
      slot.frame = child;
      child.promise().context_ = &slot;
    }
    if (cancel_pending) cancel_all();  // raised before each body (promise_base::initial_awaiter)
    for (auto& slot : slots) {
      // The child may end here (take_outcome clears `frame`) or suspend; either way it returns.
      if (auto child = slot.frame) child.resume();
    }
  }

  void child_ended() noexcept {
    if (--remaining == 0 && waiter) event_loop::current()->schedule(std::exchange(waiter, nullptr), waiter_context);
  }

  /// A child ended with `failed.error`. The first failure is kept for `gather` to raise and,
  /// under `fail_fast`, cancels the siblings still running; the gather still waits for them.
  void child_failed(const gather_slot<T>& failed) noexcept {
    if (first_failure) return;
    first_failure = failed.error;
    if (fail_fast) cancel_all();
  }

  void cancel_all() noexcept {
    for (auto& s : slots) s.cancel();
  }

  std::vector<gather_slot<T>> slots;
  std::size_t remaining;
  bool fail_fast;
  /// The exception of the child that failed first in time, or null.
  std::exception_ptr first_failure;
  std::coroutine_handle<> waiter;
  const lowlevel::task_context* waiter_context = nullptr;
};

/// Suspends the gathering coroutine until every child has ended. A cancellation point:
/// cancelling the gathering task cancels every child, still waits for all of them, then
/// raises `cancelled_error`.
template <class T>
class gather_wait : private lowlevel::cancellable_wait {
 public:
  explicit gather_wait(gather_group<T>& group) noexcept : group_(group) {}
  bool await_ready() const noexcept { return false; }
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) noexcept {
    const bool cancel_pending = bind(h);
    // Every child ended while starting: no suspension, and await_resume still raises a
    // cancellation of the gathering task.
    if (group_.remaining == 0) return false;
    group_.waiter = h;
    group_.waiter_context = context_;
    if (cancel_pending) {
      group_.cancel_all();  // the request stays pending: await_resume raises it
    } else {
      arm(&on_cancel, this);
    }
    return true;
  }
  void await_resume() { end_wait("gather was cancelled"); }

 private:
  static void on_cancel(void* arg) noexcept { static_cast<gather_wait*>(arg)->group_.cancel_all(); }
  gather_group<T>& group_;
};

}  // namespace detail

/// Runs every task concurrently and returns their outcomes in input order; never throws for a
/// child's exception (`asyncio.gather(..., return_exceptions=True)`).
///
/// The children run as parts of the gathering task (each with a context of its own, so each
/// can be cancelled), not as separately spawned tasks: no handle, no allocation beyond the
/// children's frames.
///
/// @par Cancellation
/// A cancellation point: cancelling the gathering task cancels every child and waits for all of
/// them to end before `cancelled_error` propagates. No child is left running.
template <class T>
task<std::vector<outcome<T>>> gather_outcomes(std::vector<task<T>> tasks) {
  detail::gather_group<T> group(tasks, /*fail_fast=*/false);
  const lowlevel::task_context* context = co_await detail::current_context{};
  group.start(tasks, context != nullptr && context->cancel_requested);
  co_await detail::gather_wait<T>(group);
  std::vector<outcome<T>> results;
  results.reserve(group.slots.size());
  for (auto& slot : group.slots) {
    if (slot.error) {
      results.emplace_back(std::move(slot.error));
    } else {
      results.emplace_back(std::move(*slot.value));
    }
  }
  co_return results;
}

/// Runs every task concurrently and returns their values in input order (Python's
/// `asyncio.gather`), failing fast the structured way: when a child fails, `gather` cancels
/// every sibling still running, waits for them to unwind (their destructors and `catch` blocks
/// run, and a sibling that catches the cancellation and goes on awaiting is still waited for),
/// then rethrows the exception of the child that failed first in time. The siblings' own
/// `cancelled_error`s are not reported; use `gather_outcomes` to see every child's outcome.
///
/// Unlike `asyncio.gather`, which raises at the first failure and leaves the siblings running
/// unsupervised, and like asyncio's `TaskGroup` and Trio's nursery, no child is ever left
/// behind: when `gather` returns or throws, every child has ended. A failure therefore arrives
/// as soon as the siblings have unwound, not when the slowest of them would have finished.
///
/// @par Cancellation
/// As `gather_outcomes`: cancelling the gathering task cancels every child, waits for all of
/// them, then raises `cancelled_error` (also when a child had failed first).
///
/// @code
///   std::vector<aio::task<int>> parts;
///   parts.push_back(fetch_part(1));
///   parts.push_back(fetch_part(2));
///   auto all = aio::gather(std::move(parts));  // named first: see "g++ 12" in the README
///   std::vector<int> sizes = co_await std::move(all);
/// @endcode
template <class T>
task<std::vector<result_t<T>>> gather(std::vector<task<T>> tasks) {
  detail::gather_group<T> group(tasks, /*fail_fast=*/true);
  const lowlevel::task_context* context = co_await detail::current_context{};
  group.start(tasks, context != nullptr && context->cancel_requested);
  co_await detail::gather_wait<T>(group);
  if (group.first_failure) std::rethrow_exception(group.first_failure);
  std::vector<result_t<T>> values;
  values.reserve(group.slots.size());
  for (auto& slot : group.slots) values.push_back(std::move(*slot.value));
  co_return values;
}

/// Waits until every handle's task has ended, without taking outcomes. Cancelling the waiting
/// task cancels the task it is waiting on at that moment (see `task_handle::wait`).
template <class... Ts>
task<void> wait_all(const task_handle<Ts>&... handles) {
  ((co_await handles.wait()), ...);
}

namespace detail {

/// Runs `child` and stores its value in `out`, so that children of different types can share
/// one vector `gather` (and with it the fail-fast rule).
template <class T>
task<void> store_result(task<T> child, std::optional<result_t<T>>& out) {
  if constexpr (std::is_void_v<T>) {
    co_await std::move(child);
    out.emplace();
  } else {
    out.emplace(co_await std::move(child));
  }
}

template <class... Ts, class... Rs, std::size_t... I>
std::vector<task<void>> store_results(std::tuple<task<Ts>...>& children, std::tuple<std::optional<Rs>...>& out,
                                      std::index_sequence<I...>) {
  std::vector<task<void>> stored;
  stored.reserve(sizeof...(Ts));
  (stored.push_back(store_result(std::move(std::get<I>(children)), std::get<I>(out))), ...);
  return stored;
}

template <class... Rs, std::size_t... I>
std::tuple<Rs...> take_results(std::tuple<std::optional<Rs>...>& out, std::index_sequence<I...>) {
  return std::tuple<Rs...>(std::move(*std::get<I>(out))...);
}

}  // namespace detail

/// `gather` over tasks of different types: a tuple of values (`std::monostate` for `void`),
/// with the same rules as the vector form (fail fast, no child left behind).
template <class... Ts>
task<std::tuple<result_t<Ts>...>> gather(task<Ts>... tasks) {
  std::tuple<std::optional<result_t<Ts>>...> results;
  std::tuple<task<Ts>...> children(std::move(tasks)...);
  auto all = gather(detail::store_results(children, results, std::index_sequence_for<Ts...>{}));
  co_await std::move(all);
  co_return detail::take_results(results, std::index_sequence_for<Ts...>{});
}

}  // namespace trident::aio
