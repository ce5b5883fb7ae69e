#pragma once
/// @file
/// The channels' private waiter machinery: the intrusive FIFO of waiters and the waiter of a
/// blocked thread. The protocol is in the public `sync/channel_waiter.hpp`.

#include <condition_variable>
#include <cstddef>

#include "trident/sync/channel_waiter.hpp"

namespace trident::sync::detail {

/// A FIFO of waiters with O(1) removal from anywhere (for timeouts and cancellation).
/// Thread safety: none; assumes the caller holds the lock of the object that owns the list.
class waiter_list {
 public:
  [[nodiscard]] bool empty() const noexcept { return head_ == nullptr; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

  void push_back(channel_waiter_base& w) noexcept {
    w.prev_ = tail_;
    w.next_ = nullptr;
    (tail_ != nullptr ? tail_->next_ : head_) = &w;
    tail_ = &w;
    ++size_;
  }

  /// Precondition: not empty.
  [[nodiscard]] channel_waiter_base& front() const noexcept { return *head_; }

  /// Precondition: not empty.
  channel_waiter_base& pop_front() noexcept {
    channel_waiter_base& w = *head_;
    remove(w);
    return w;
  }

  /// Precondition: `w` is linked in this list.
  void remove(channel_waiter_base& w) noexcept {
    (w.prev_ != nullptr ? w.prev_->next_ : head_) = w.next_;
    (w.next_ != nullptr ? w.next_->prev_ : tail_) = w.prev_;
    w.prev_ = w.next_ = nullptr;
    --size_;
  }

 private:
  channel_waiter_base* head_ = nullptr;
  channel_waiter_base* tail_ = nullptr;
  std::size_t size_ = 0;
};

/// A blocked thread. Its condition variable waits on the channel's own lock, so the channel's
/// `wake()` (made under that lock) can never race with the node's destruction: the thread
/// cannot return from its wait before the waker releases the lock.
template <class T>
class thread_channel_waiter final : public channel_waiter<T> {
 public:
  void wake() noexcept override { woken.notify_one(); }
  std::condition_variable woken;
};

}  // namespace trident::sync::detail
