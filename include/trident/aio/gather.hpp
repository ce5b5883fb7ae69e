#pragma once
/// @file
/// `aio::gather`: run several tasks concurrently and collect their results in argument order
/// (Python's `asyncio.gather`), and `gather_outcomes`, which returns each result or exception
/// (`gather(..., return_exceptions=True)`).

#include <exception>
#include <optional>
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

/// After the gathering task was cancelled while waiting for child `first_left - 1`: cancels the
/// rest and waits for them, so no child outlives the gather.
template <class Handles>
task<void> cancel_rest(Handles& handles, std::size_t first_left) {
  for (std::size_t i = first_left; i < handles.size(); ++i) handles[i].cancel();
  for (std::size_t i = first_left; i < handles.size(); ++i) co_await handles[i].wait();
}

}  // namespace detail

/// Runs every task concurrently and returns their outcomes in input order; never throws for a
/// child's exception (`asyncio.gather(..., return_exceptions=True)`).
///
/// @par Cancellation
/// A cancellation point: cancelling the gathering task cancels every child and waits for all of
/// them to end before `cancelled_error` propagates. No child is left running.
template <class T>
task<std::vector<outcome<T>>> gather_outcomes(std::vector<task<T>> tasks) {
  auto& loop = event_loop::running();
  std::vector<task_handle<T>> handles;
  handles.reserve(tasks.size());
  for (auto& t : tasks) handles.push_back(spawn(loop, std::move(t), "gather"));
  std::vector<outcome<T>> results;
  results.reserve(handles.size());
  for (std::size_t i = 0; i < handles.size(); ++i) {
    // A finished child is read directly: no coroutine round trip per child, so a gather of
    // many already-finished children needs no stack, whatever the compiler does with symmetric
    // transfer.
    if (!handles[i].done()) {
      bool cancelled = false;
      try {
        co_await handles[i].wait();
      } catch (const cancelled_error&) {
        cancelled = true;  // this task was cancelled; the child was cancelled with it and ended
      }
      if (cancelled) {
        co_await detail::cancel_rest(handles, i + 1);
        throw cancelled_error("gather was cancelled");
      }
    }
    results.push_back(detail::outcome_of(handles[i]));
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
  auto outcomes = co_await gather_outcomes(std::move(tasks));
  std::vector<result_t<T>> values;
  values.reserve(outcomes.size());
  for (auto& o : outcomes) values.push_back(std::move(o.value()));
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
