#pragma once
/// @file
/// `completion_queue`: the indices of futures in the order they finish. The machinery behind
/// `as_completed`, public for code that hands out futures in completion order as it submits
/// them — the process pool's `imap_unordered` — without a thread blocked on each future.

#include <chrono>
#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "trident/exec/continuation.hpp"
#include "trident/exec/future.hpp"

namespace trident::exec {

/// Indices of watched futures, queued as each future finishes (value, exception or
/// cancellation). Create it with `std::make_shared`: the completion hooks keep it alive, so
/// futures may finish after its owner dropped it.
///
/// @par Thread safety
/// Futures complete it from any thread. `watch` and the `pop`s are for one consumer thread at a
/// time.
///
/// @par Waiting
/// `pop` on a thread-pool worker runs queued pool tasks while it waits, like `future::get`, so
/// waiting inside a pool never deadlocks it.
///
/// @code
///   auto done = std::make_shared<trident::exec::completion_queue>();
///   for (std::size_t i = 0; i < fs.size(); ++i) done->watch(fs[i], i);
///   while (auto i = done->pop()) use(fs[*i].get());   // stop after fs.size() pops
/// @endcode
class completion_queue : public std::enable_shared_from_this<completion_queue> {
 public:
  /// Queues `index` once `f` finishes (at once if it has). Precondition: `f` has a state.
  template <class T>
  void watch(const future<T>& f, std::size_t index) {
    auto* node = new node_type(shared_from_this(), index);
    if (!add_continuation(f, *node)) {
      delete node;
      push(index);
    }
  }

  /// Queues `index` as finished; for completions that do not come from a watched future.
  void push(std::size_t index) {
    exec::detail::promise_state<void>* wake = nullptr;
    {
      std::lock_guard lock(mutex_);
      done_.push_back(index);
      wake = std::exchange(waiting_, nullptr);
    }
    if (wake != nullptr) {
      wake->finish(exec::detail::status::value);
      wake->release();
    }
  }

  /// The next finished index, waiting for one. Pop only as many as were watched or pushed:
  /// a pop with nothing left to finish waits for ever.
  std::size_t pop() { return *pop_impl(nullptr); }

  /// The next finished index, or nullopt if `deadline` passes first.
  std::optional<std::size_t> pop_until(std::chrono::steady_clock::time_point deadline) { return pop_impl(&deadline); }

 private:
  struct node_type final : continuation {
    node_type(std::shared_ptr<completion_queue> q, std::size_t i) : queue(std::move(q)), index(i) { fire = &on_fire; }
    static void on_fire(continuation* c) noexcept {
      auto* self = static_cast<node_type*>(c);
      try {
        self->queue->push(self->index);
      } catch (...) {
        // push allocates only when the deque grows; losing the index would hang the reader.
        std::terminate();
      }
      delete self;
    }
    std::shared_ptr<completion_queue> queue;
    std::size_t index;
  };

  std::optional<std::size_t> pop_impl(const std::chrono::steady_clock::time_point* deadline) {
    exec::detail::promise_state<void>* signal = nullptr;
    {
      std::lock_guard lock(mutex_);
      if (!done_.empty()) return take();
      signal = new exec::detail::promise_state<void>();  // references: this waiter's and push's
      waiting_ = signal;
    }
    const bool done = deadline ? exec::detail::wait_for_state_until(*signal, *deadline)
                               : (exec::detail::wait_for_state(*signal), true);
    std::lock_guard lock(mutex_);
    if (!done && waiting_ == signal) {  // timed out and no push claimed the signal
      waiting_ = nullptr;
      signal->finish(exec::detail::status::value);  // frees what a parked worker hung on it
      signal->release();
    }
    signal->release();
    if (done_.empty()) return std::nullopt;
    return take();
  }

  /// Assumes the caller holds `mutex_` and `done_` is not empty.
  std::size_t take() {
    const std::size_t i = done_.front();
    done_.pop_front();
    return i;
  }

  std::mutex mutex_;
  std::deque<std::size_t> done_;
  exec::detail::promise_state<void>* waiting_ = nullptr;  // guarded by mutex_
};

}  // namespace trident::exec

// This header's names under their 0.1 spelling, directly in `trident::`: deprecated until 0.3.
#define TRIDENT_EXEC_COMPLETION_QUEUE_HPP
#include "trident/exec/deprecated_names.hpp"
