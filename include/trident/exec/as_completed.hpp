#pragma once
/// @file
/// `as_completed`: iterate over futures in the order they finish (Python's
/// `concurrent.futures.as_completed`).

#include <chrono>
#include <cstddef>
#include <deque>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "trident/core/errors.hpp"
#include "trident/exec/future.hpp"

namespace trident {

namespace exec::detail {

/// Indices of finished futures, in finishing order, filled by continuations on their states.
class completion_queue {
 public:
  void push(std::size_t index) {
    promise_state<void>* wake = nullptr;
    {
      std::lock_guard lock(mutex_);
      done_.push_back(index);
      wake = std::exchange(waiting_, nullptr);
    }
    if (wake != nullptr) {
      wake->finish(status::value);
      wake->release();
    }
  }

  /// The next finished index, waiting for it (running pool work meanwhile on a worker thread);
  /// nullopt if `deadline` passes first.
  std::optional<std::size_t> pop(const std::chrono::steady_clock::time_point* deadline) {
    promise_state<void>* signal = nullptr;
    {
      std::lock_guard lock(mutex_);
      if (!done_.empty()) return take();
      signal = new promise_state<void>();  // references: this waiter's and push's
      waiting_ = signal;
    }
    const bool done = deadline ? wait_for_state_until(*signal, *deadline) : (wait_for_state(*signal), true);
    std::lock_guard lock(mutex_);
    if (!done && waiting_ == signal) {  // timed out and no push claimed the signal
      waiting_ = nullptr;
      signal->finish(status::value);  // frees what a parked worker hung on it
      signal->release();
    }
    signal->release();
    if (done_.empty()) return std::nullopt;
    return take();
  }

 private:
  std::size_t take() {
    const std::size_t i = done_.front();
    done_.pop_front();
    return i;
  }

  std::mutex mutex_;
  std::deque<std::size_t> done_;
  promise_state<void>* waiting_ = nullptr;
};

struct completion_node final : continuation {
  std::shared_ptr<completion_queue> queue;
  std::size_t index;
  completion_node(std::shared_ptr<completion_queue> q, std::size_t i) : queue(std::move(q)), index(i) {
    fire = &on_fire;
  }
  static void on_fire(continuation* c) noexcept {
    auto* self = static_cast<completion_node*>(c);
    try {
      self->queue->push(self->index);
    } catch (...) {
      // push allocates only when the deque grows; losing the index would hang the reader.
      std::terminate();
    }
    delete self;
  }
};

}  // namespace exec::detail

/// A single-pass range over `futures` that yields each one (by reference) as soon as it is
/// ready, value, exception or cancellation alike: the first finished comes first.
///
/// @par Lifetime
/// The futures must stay where they are (not moved, the vector not resized) while the range is
/// iterated. Abandoning the iteration early is safe.
///
/// @par Waiting
/// Advancing the iterator waits for the next future; on a pool worker it runs queued tasks
/// meanwhile. `next_for(timeout)` waits at most `timeout` and throws `timeout_error`, like
/// Python's `as_completed(fs, timeout=...)`.
///
/// @code
///   std::vector<future<int>> fs;
///   for (int i = 0; i < 10; ++i) fs.push_back(pool.submit(work, i));
///   for (future<int>& f : as_completed(fs)) std::cout << f.get() << '\n';
/// @endcode
template <class T>
class completion_range {
 public:
  explicit completion_range(std::vector<future<T>>& futures)
      : futures_(&futures), queue_(std::make_shared<exec::detail::completion_queue>()) {
    for (std::size_t i = 0; i < futures.size(); ++i) {
      auto* state = futures[i].state();
      if (state == nullptr) throw future_error("as_completed: future has no state");
      auto* node = new exec::detail::completion_node(queue_, i);
      if (!state->add_continuation(node)) {
        queue_->push(i);
        delete node;
      }
    }
  }

  /// The next finished future, or nullptr once all were yielded.
  future<T>* next() { return next_impl(nullptr); }

  /// The next finished future within `timeout`; throws `timeout_error` if none finishes in time,
  /// nullptr once all were yielded.
  template <class Rep, class Period>
  future<T>* next_for(std::chrono::duration<Rep, Period> timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    return next_impl(&deadline);
  }

  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = future<T>;
    using difference_type = std::ptrdiff_t;
    using pointer = future<T>*;
    using reference = future<T>&;

    iterator() = default;
    explicit iterator(completion_range* r) : range_(r), current_(r->next()) {}
    reference operator*() const { return *current_; }
    pointer operator->() const { return current_; }
    iterator& operator++() {
      current_ = range_->next();
      return *this;
    }
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const { return current_ == nullptr; }

   private:
    completion_range* range_ = nullptr;
    future<T>* current_ = nullptr;
  };

  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() { return {}; }

 private:
  future<T>* next_impl(const std::chrono::steady_clock::time_point* deadline) {
    if (yielded_ == futures_->size()) return nullptr;
    auto index = queue_->pop(deadline);
    if (!index) throw timeout_error("as_completed: no future finished within the timeout");
    ++yielded_;
    return &(*futures_)[*index];
  }

  std::vector<future<T>>* futures_;
  std::shared_ptr<exec::detail::completion_queue> queue_;
  std::size_t yielded_ = 0;
};

/// Iterates `futures` in completion order; see `completion_range`.
template <class T>
completion_range<T> as_completed(std::vector<future<T>>& futures) {
  return completion_range<T>(futures);
}

}  // namespace trident
