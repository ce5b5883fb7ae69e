#pragma once
/// @file
/// Intrusive waiter nodes: how a party blocked on a channel is represented.
///
/// A blocked party (a thread today, a coroutine once the awaitable ends land) owns one node,
/// on its stack or in its coroutine frame, and links it into a `waiter_list` inside the channel.
/// The channel completes a waiter by (1) doing the operation on its behalf (moving the value
/// out of `outgoing` or into `incoming`), (2) setting `outcome`, (3) unlinking the node and
/// (4) calling `wake()` -- all while holding the channel's internal lock. A waiter that gives up
/// (timeout, cancellation) takes the same lock and, if `outcome` is still `waiting`, unlinks
/// itself; otherwise the operation already happened and it must report success.

#include <condition_variable>
#include <cstddef>
#include <optional>

namespace trident::detail {

/// One blocked party. Not copyable or movable: the channel holds its address while linked.
class intrusive_waiter {
 public:
  enum class state : unsigned char {
    waiting,  ///< linked, the operation has not happened
    done,     ///< the channel did the operation for this waiter
    closed,   ///< the channel was closed; nothing was transferred
  };

  intrusive_waiter() = default;
  intrusive_waiter(const intrusive_waiter&) = delete;
  intrusive_waiter& operator=(const intrusive_waiter&) = delete;

  /// Called exactly once per completion, with the channel's internal lock held, after
  /// `outcome` was set and the node unlinked. Must not block and must not call back into the
  /// channel: a thread waiter notifies its condition variable; a coroutine waiter posts its
  /// resumption to its event loop.
  virtual void wake() noexcept = 0;

  /// How the wait ended. Written and read only under the channel's internal lock.
  state outcome = state::waiting;

 protected:
  ~intrusive_waiter() = default;

 private:
  friend class waiter_list;
  intrusive_waiter* prev_ = nullptr;
  intrusive_waiter* next_ = nullptr;
};

/// A FIFO of waiters with O(1) removal from anywhere (for timeouts and cancellation).
/// Thread safety: none; assumes the caller holds the lock of the object that owns the list.
class waiter_list {
 public:
  [[nodiscard]] bool empty() const noexcept { return head_ == nullptr; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

  void push_back(intrusive_waiter& w) noexcept {
    w.prev_ = tail_;
    w.next_ = nullptr;
    (tail_ != nullptr ? tail_->next_ : head_) = &w;
    tail_ = &w;
    ++size_;
  }

  /// Precondition: not empty.
  [[nodiscard]] intrusive_waiter& front() const noexcept { return *head_; }

  /// Precondition: not empty.
  intrusive_waiter& pop_front() noexcept {
    intrusive_waiter& w = *head_;
    remove(w);
    return w;
  }

  /// Precondition: `w` is linked in this list.
  void remove(intrusive_waiter& w) noexcept {
    (w.prev_ != nullptr ? w.prev_->next_ : head_) = w.next_;
    (w.next_ != nullptr ? w.next_->prev_ : tail_) = w.prev_;
    w.prev_ = w.next_ = nullptr;
    --size_;
  }

 private:
  intrusive_waiter* head_ = nullptr;
  intrusive_waiter* tail_ = nullptr;
  std::size_t size_ = 0;
};

/// A waiter on a channel of `T`: a sender points `outgoing` at the value it offers (moved from
/// only when the outcome is `done`); a receiver points `incoming` at where the value lands.
template <class T>
class channel_waiter : public intrusive_waiter {
 public:
  T* outgoing = nullptr;
  std::optional<T>* incoming = nullptr;

 protected:
  ~channel_waiter() = default;
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

}  // namespace trident::detail
