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
#include "trident/exec/completion_queue.hpp"
#include "trident/exec/future.hpp"

namespace trident::exec {

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
      : futures_(&futures), queue_(std::make_shared<completion_queue>()) {
    for (std::size_t i = 0; i < futures.size(); ++i) {
      if (!futures[i].valid()) throw future_error("as_completed: future has no state");
      queue_->watch(futures[i], i);
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
    auto index = deadline != nullptr ? queue_->pop_until(*deadline) : queue_->pop();
    if (!index) throw timeout_error("as_completed: no future finished within the timeout");
    ++yielded_;
    return &(*futures_)[*index];
  }

  std::vector<future<T>>* futures_;
  std::shared_ptr<completion_queue> queue_;
  std::size_t yielded_ = 0;
};

/// Iterates `futures` in completion order; see `completion_range`.
template <class T>
completion_range<T> as_completed(std::vector<future<T>>& futures) {
  return completion_range<T>(futures);
}

}  // namespace trident::exec

// This header's names under their 0.1 spelling, directly in `trident::`: deprecated until 0.3.
#define TRIDENT_EXEC_AS_COMPLETED_HPP
#include "trident/exec/deprecated_names.hpp"
