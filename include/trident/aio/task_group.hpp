#pragma once
/// @file
/// `aio::task_group`: structured concurrency for coroutines (Python 3.11's `TaskGroup`, Trio's
/// nursery) — the group owns its tasks, the first failure cancels the siblings, and leaving
/// waits for all.

#include <cstddef>
#include <exception>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

#include "trident/aio/event_loop.hpp"
#include "trident/aio/spawn.hpp"
#include "trident/aio/task.hpp"
#include "trident/core/errors.hpp"

namespace trident::aio {

class task_group;

namespace detail {

struct group_state {
  std::vector<task_handle<void>> children;
  std::exception_ptr first_error;

  void fail(std::exception_ptr e) {
    if (first_error) return;
    first_error = std::move(e);
    for (auto& c : children) c.cancel();
  }
};

/// Runs a child and reports its failure to the group (cancellation is not a failure).
template <class T>
task<void> supervised(std::shared_ptr<group_state> group, task<T> body) {
  try {
    co_await std::move(body);
  } catch (const cancelled_error&) {
    throw;
  } catch (...) {
    group->fail(std::current_exception());
    throw;
  }
}

}  // namespace detail

/// The tasks started through one `with_task_group` call.
///
/// Rules (as Python's TaskGroup):
/// 1. `spawn` starts a child; children run concurrently with the body.
/// 2. The first child (or the body) to fail with an exception other than `cancelled_error`
///    cancels the body's children and every sibling.
/// 3. `with_task_group` returns when the body and every child have ended, then rethrows the
///    first failure. Cancelling the task that awaits `with_task_group` cancels everything.
///
/// @par Thread safety
/// Loop thread only.
class task_group {
 public:
  /// Starts `t` as a child of the group. Its value, if any, is dropped: share results through
  /// captured state, or spawn with `aio::spawn` and keep the handle.
  template <class T>
  void spawn(task<T> t, const char* name = "group task") {
    if (closed_) throw std::logic_error("task_group::spawn after the group has finished");
    state_->children.push_back(aio::spawn(loop_, detail::supervised(state_, std::move(t)), name));
  }

  /// Number of children started so far.
  [[nodiscard]] std::size_t size() const noexcept { return state_->children.size(); }

 private:
  template <class Body>
  friend task<void> with_task_group(Body body);

  explicit task_group(event_loop& loop) : loop_(loop), state_(std::make_shared<detail::group_state>()) {}

  /// Waits for every child (also those started while waiting); on cancellation of the waiter,
  /// cancels them all and still waits.
  task<void> join() {
    bool cancelled = false;
    for (std::size_t i = 0; i < state_->children.size(); ++i) {
      try {
        co_await state_->children[i].wait();
      } catch (const cancelled_error&) {
        cancelled = true;
        for (auto& c : state_->children) c.cancel();
        --i;  // wait for this child again: it has been cancelled, not finished
      }
    }
    closed_ = true;
    for (auto& c : state_->children) (void)c.exception();  // outcomes are reported through the group
    if (cancelled) throw cancelled_error("task group was cancelled");
    if (state_->first_error) std::rethrow_exception(state_->first_error);
  }

  event_loop& loop_;
  std::shared_ptr<detail::group_state> state_;
  bool closed_ = false;
};

/// Runs `body(group)` (a callable returning `task<void>`) and waits for it and every task it
/// spawned into the group; see `task_group` for the rules.
///
/// @code
///   auto fetch_all = [&](aio::task_group& g) -> aio::task<void> {
///     for (auto& url : urls) g.spawn(fetch(url));
///     co_return;
///   };
///   co_await aio::with_task_group(fetch_all);  // named first: g++ 12 (see the README)
/// @endcode
template <class Body>
task<void> with_task_group(Body body) {
  task_group group(event_loop::running());
  std::exception_ptr body_error;
  bool body_cancelled = false;
  try {
    co_await body(group);
  } catch (const cancelled_error&) {
    body_cancelled = true;
  } catch (...) {
    body_error = std::current_exception();
  }
  if (body_error) group.state_->fail(body_error);
  if (body_cancelled) {
    for (auto& c : group.state_->children) c.cancel();
  }
  co_await group.join();
  if (body_cancelled) throw cancelled_error("task group was cancelled");
}

}  // namespace trident::aio
