#pragma once
/// @file
/// `aio::gather`: run several tasks concurrently and collect their results in argument order
/// (Python's `asyncio.gather`), and `gather_outcomes`, which returns each result or exception
/// (`gather(..., return_exceptions=True)`).

#include <coroutine>
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
    self->group->child_ended();
  }

  void cancel() noexcept {
    if (frame) request_cancel();
  }
};

/// The children of one vector `gather` and the coroutine waiting for them. Loop thread only.
template <class T>
struct gather_group {
  explicit gather_group(std::vector<task<T>>& tasks) : slots(tasks.size()), remaining(tasks.size()) {}
  gather_group(const gather_group&) = delete;
  gather_group& operator=(const gather_group&) = delete;
  /// Frames of children that never ended (the loop is being destroyed with this gather
  /// suspended) go with the gather.
  ~gather_group() {
    for (auto& s : slots) {
      if (s.frame) std::exchange(s.frame, nullptr).destroy();
    }
  }

  /// Starts every child on `loop`, in input order.
  void start(event_loop& loop, std::vector<task<T>>& tasks) {
    for (const auto& t : tasks) {  // all checked before any starts
      if (!t.handle()) throw std::logic_error("gather of a task that has no coroutine (moved from?)");
    }
    for (std::size_t i = 0; i < tasks.size(); ++i) {
      auto child = tasks[i].release();
      auto& slot = slots[i];
      slot.loop = &loop;
      slot.name = "gather";
      slot.root_done = &gather_slot<T>::take_outcome;
      slot.group = this;
      slot.frame = child;
      child.promise().context_ = &slot;
      loop.schedule(child, &slot);
    }
  }

  void child_ended() noexcept {
    if (--remaining == 0 && waiter) slots.front().loop->schedule(std::exchange(waiter, nullptr), waiter_context);
  }

  void cancel_all() noexcept {
    for (auto& s : slots) s.cancel();
  }

  std::vector<gather_slot<T>> slots;
  std::size_t remaining;
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
  bool await_ready() const noexcept { return group_.remaining == 0; }
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) noexcept {
    const bool cancel_pending = bind(h);
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
  detail::gather_group<T> group(tasks);
  group.start(event_loop::running(), tasks);
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
/// `asyncio.gather`). If any failed, rethrows the exception of the first failed task in input
/// order — after *all* tasks have finished: unlike asyncio, which raises at the first failure
/// and leaves the other children running unsupervised, Trident never leaves children behind.
///
/// @par Cancellation
/// As `gather_outcomes`: cancelling the gathering task cancels every child first.
template <class T>
task<std::vector<result_t<T>>> gather(std::vector<task<T>> tasks) {
  detail::gather_group<T> group(tasks);
  group.start(event_loop::running(), tasks);
  co_await detail::gather_wait<T>(group);
  for (auto& slot : group.slots) {
    if (slot.error) std::rethrow_exception(slot.error);
  }
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

/// `gather` over tasks of different types: a tuple of values (`std::monostate` for `void`),
/// with the same rules as the vector form.
template <class... Ts>
task<std::tuple<result_t<Ts>...>> gather(task<Ts>... tasks) {
  auto& loop = event_loop::running();
  std::tuple<task_handle<Ts>...> handles(spawn(loop, std::move(tasks), "gather")...);
  // Wait for every child (cancelling all if this task is cancelled), then take values in order.
  bool cancelled = false;
  try {
    co_await std::apply([](auto&... h) { return wait_all(h...); }, handles);
  } catch (const cancelled_error&) {
    cancelled = true;
  }
  if (cancelled) {
    std::apply([](auto&... h) { (h.cancel(), ...); }, handles);
    co_await std::apply([](auto&... h) { return wait_all(h...); }, handles);
    throw cancelled_error("gather was cancelled");
  }
  co_return std::apply([](auto&... h) { return std::tuple<result_t<Ts>...>(std::move(detail::outcome_of(h).value())...); }, handles);
}

}  // namespace trident::aio
