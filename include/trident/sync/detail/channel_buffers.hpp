#pragma once
/// @file
/// Buffer policies of `basic_channel`: the order in which buffered values leave.
/// Thread safety: none; the channel calls them with its internal lock held.

#include <algorithm>
#include <cstddef>
#include <deque>
#include <functional>
#include <string_view>
#include <utility>
#include <vector>

namespace trident::sync::detail {

/// First in, first out.
template <class T>
class fifo_buffer {
 public:
  static constexpr std::string_view kind = "channel";

  [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
  [[nodiscard]] bool empty() const noexcept { return items_.empty(); }
  void push(T&& value) { items_.push_back(std::move(value)); }
  /// Precondition: not empty.
  T pop() {
    T value = std::move(items_.front());
    items_.pop_front();
    return value;
  }

 private:
  std::deque<T> items_;
};

/// Largest first by `Compare` (a binary max-heap, like `std::priority_queue`); equal elements
/// leave in no particular order.
template <class T, class Compare>
class heap_buffer {
 public:
  static constexpr std::string_view kind = "priority_channel";

  heap_buffer() = default;
  explicit heap_buffer(Compare compare) : compare_(std::move(compare)) {}

  [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
  [[nodiscard]] bool empty() const noexcept { return items_.empty(); }
  void push(T&& value) {
    items_.push_back(std::move(value));
    std::push_heap(items_.begin(), items_.end(), std::ref(compare_));
  }
  /// Precondition: not empty.
  T pop() {
    std::pop_heap(items_.begin(), items_.end(), std::ref(compare_));
    T value = std::move(items_.back());
    items_.pop_back();
    return value;
  }

 private:
  std::vector<T> items_;
  Compare compare_;
};

}  // namespace trident::sync::detail
