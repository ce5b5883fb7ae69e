#pragma once
/// @file
/// `aio::as_completed`: start tasks and take them back in the order they finish (Python's
/// `asyncio.as_completed`).

#include <cstddef>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "trident/aio/event_loop.hpp"
#include "trident/aio/queue.hpp"
#include "trident/aio/spawn.hpp"
#include "trident/aio/task.hpp"

namespace trident::aio {

namespace detail {

/// Indices of finished tasks, in finishing order. Shared by the reporting wrappers and the
/// `completion_order` that reads them, since either may end first.
using finish_queue = queue<std::size_t>;

/// Runs `body` and reports its index when it ends, however it ends.
template <class T>
task<T> report_finish(std::shared_ptr<finish_queue> finished, std::size_t index, task<T> body) {
  struct on_exit {
    finish_queue& q;
    std::size_t index;
    ~on_exit() { (void)q.try_send(index); }  // unbounded: never fails, never waits
  } report{*finished, index};
  co_return co_await std::move(body);
}

}  // namespace detail

/// The tasks started by `as_completed`, handed back as they finish.
///
/// Each call to `next()` returns the handle of a task that has already ended (so `co_await` on
/// it returns at once with its value or rethrows its exception), or `nullopt` once every task
/// has been returned. Failures do not stop the sequence: a failed task is returned like any
/// other, and its exception comes out of `co_await handle`.
///
/// Destroying a `completion_order` cancels the tasks not yet returned (they end at their next
/// suspension point; the loop runs their cleanup). To keep them running, take every handle.
///
/// @par Thread safety
/// Loop thread only; one reader at a time.
template <class T>
class completion_order {
 public:
  completion_order(completion_order&&) noexcept = default;
  completion_order& operator=(completion_order&&) = delete;
  completion_order(const completion_order&) = delete;
  completion_order& operator=(const completion_order&) = delete;
  ~completion_order() {
    for (auto& h : handles_) {
      if (h.valid()) h.cancel();
    }
  }

  /// The next task to finish, once it has; `nullopt` when all have been returned.
  ///
  /// @par Cancellation
  /// A cancellation point: cancelling the reading task while it waits raises `cancelled_error`
  /// in it; the tasks keep running, and no handle is lost (a later `next()` still returns
  /// each one).
  task<std::optional<task_handle<T>>> next() {
    if (returned_ == handles_.size()) co_return std::nullopt;
    const auto index = co_await finished_->receive();  // the queue is never closed: always a value
    ++returned_;
    co_return std::exchange(handles_[*index], task_handle<T>());
  }

  /// Tasks not yet returned by `next()`.
  [[nodiscard]] std::size_t remaining() const noexcept { return handles_.size() - returned_; }

 private:
  template <class U>
  friend completion_order<U> as_completed(std::vector<task<U>> tasks);

  completion_order() = default;

  std::shared_ptr<detail::finish_queue> finished_ = std::make_shared<detail::finish_queue>();
  std::vector<task_handle<T>> handles_;
  std::size_t returned_ = 0;
};

/// Starts every task on the running loop and returns them in the order they finish.
///
/// @code
///   auto order = aio::as_completed(std::move(downloads));
///   while (auto done = co_await order.next()) {
///     try { use(co_await *done); } catch (const std::exception& e) { report(e); }
///   }
/// @endcode
template <class T>
completion_order<T> as_completed(std::vector<task<T>> tasks) {
  auto& loop = event_loop::running();
  completion_order<T> order;
  order.handles_.reserve(tasks.size());
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    order.handles_.push_back(
        spawn(loop, detail::report_finish(order.finished_, i, std::move(tasks[i])), "as_completed"));
  }
  return order;
}

}  // namespace trident::aio
