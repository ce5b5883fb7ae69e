#pragma once
/// @file
/// The awaitable ends of `trident::channel<T>` and `trident::priority_channel<T>`: coroutines
/// send and receive on the same channel that threads use with `send` / `receive`, so one
/// pipeline can mix threads and tasks without a second queue type.

#include <coroutine>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "trident/aio/event_loop.hpp"
#include "trident/aio/task.hpp"
#include "trident/core/errors.hpp"
#include "trident/sync/detail/basic_channel.hpp"
#include "trident/sync/detail/waiter.hpp"

namespace trident::detail {

/// The channel internals the awaitable ends use (see the protocol in basic_channel.hpp).
template <class Channel>
struct channel_hooks {
  using T = typename Channel::value_type;
  static std::mutex& mutex(Channel& c) noexcept { return c.mutex_; }
  static bool closed(Channel& c) noexcept { return c.closed_; }
  static bool offer(Channel& c, T& v) { return c.offer_locked(v); }
  static bool take(Channel& c, std::optional<T>& out) { return c.take_locked(out); }
  static void link_sender(Channel& c, channel_waiter<T>& w) noexcept { c.link_sender(w); }
  static void link_receiver(Channel& c, channel_waiter<T>& w) noexcept { c.link_receiver(w); }
  static bool withdraw(Channel& c, channel_waiter<T>& w, bool is_sender) noexcept {
    return c.cancel_locked(w, is_sender);
  }
};

}  // namespace trident::detail

namespace trident::aio {

namespace detail {

/// A coroutine blocked on a channel. The channel completes it under its own lock, from any
/// thread; `wake` then resumes the coroutine on its loop (directly when already on that loop's
/// thread, else through the loop's endpoint).
///
/// Steps:
///  1. `await_suspend`, under the channel lock: complete at once if possible (no suspension),
///     else link the node and install the task's cancel hook.
///  2. The channel completes the node (`done` or `closed`), unlinks it and calls `wake`.
///  3. Cancellation (loop thread): under the channel lock, withdraw the node if it is still
///     linked and resume the coroutine, which raises `cancelled_error`. If the channel already
///     completed it, the transfer stands and is reported; the cancellation stays pending and
///     is raised at the task's next suspension point.
///  4. A frame destroyed while linked (a loop destroying unfinished tasks) withdraws the node.
template <class Channel, bool IsSender>
class channel_end : public trident::detail::channel_waiter<typename Channel::value_type> {
  using hooks = trident::detail::channel_hooks<Channel>;
  using state = trident::detail::intrusive_waiter::state;

 public:
  using T = typename Channel::value_type;

  explicit channel_end(Channel& c) noexcept : channel_(c) {}
  channel_end(const channel_end&) = delete;
  channel_end& operator=(const channel_end&) = delete;
  ~channel_end() {
    if (!handle_) return;  // never linked (set on the loop thread before linking)
    std::lock_guard lock(hooks::mutex(channel_));
    if (linked_) hooks::withdraw(channel_, *this, IsSender);
  }

  void wake() noexcept override {
    linked_ = false;  // under the channel lock, like every access to the link state
    if (event_loop::current() == loop_) {
      loop_->schedule(handle_, context_);
    } else {
      trident::aio::detail::post(*endpoint_, [loop = loop_, h = handle_, c = context_] { loop->schedule(h, c); });
    }
  }

 protected:
  template <class Promise, class TryNow>
  bool suspend(std::coroutine_handle<Promise> h, TryNow try_now) {
    context_ = context_of(h.promise());
    if (context_ != nullptr && context_->cancel_requested) return false;
    loop_ = &event_loop::running();
    std::lock_guard lock(hooks::mutex(channel_));
    // A receiver drains buffered values even from a closed channel; a sender fails once closed.
    if (!IsSender && try_now()) {
      this->outcome = state::done;
      return false;
    }
    if (hooks::closed(channel_)) {
      this->outcome = state::closed;
      return false;
    }
    if (IsSender && try_now()) {
      this->outcome = state::done;
      return false;
    }
    endpoint_ = loop_->endpoint();
    handle_ = h;
    if constexpr (IsSender) {
      hooks::link_sender(channel_, *this);
    } else {
      hooks::link_receiver(channel_, *this);
    }
    linked_ = true;
    if (context_ != nullptr) {
      context_->cancel_hook = &on_cancel;
      context_->hook_arg = this;
    }
    return true;
  }

  /// Clears the hook; throws `cancelled_error` if the task was cancelled and nothing was
  /// transferred.
  void finish_wait() {
    if (context_ == nullptr) return;
    context_->cancel_hook = nullptr;
    if (this->outcome != state::done && context_->take_cancellation()) {
      throw cancelled_error("cancelled while waiting on a channel");
    }
  }

  Channel& channel_;

 private:
  static void on_cancel(void* arg) noexcept {
    auto* self = static_cast<channel_end*>(arg);
    bool withdrawn = false;
    {
      std::lock_guard lock(hooks::mutex(self->channel_));
      withdrawn = self->linked_ && hooks::withdraw(self->channel_, *self, IsSender);
      if (withdrawn) self->linked_ = false;
    }
    if (withdrawn) self->loop_->schedule(self->handle_, self->context_);
  }

  event_loop* loop_ = nullptr;
  std::shared_ptr<remote_endpoint> endpoint_;
  std::coroutine_handle<> handle_;
  task_context* context_ = nullptr;
  bool linked_ = false;  // guarded by the channel lock once linked
};

template <class Channel>
class receive_end : public channel_end<Channel, false> {
 public:
  using channel_end<Channel, false>::channel_end;
  bool await_ready() const noexcept { return false; }
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    this->incoming = &value_;
    return this->suspend(h, [this] { return trident::detail::channel_hooks<Channel>::take(this->channel_, value_); });
  }
  std::optional<typename Channel::value_type> await_resume() {
    this->finish_wait();
    return std::move(value_);  // nullopt when closed and drained
  }

 private:
  std::optional<typename Channel::value_type> value_;
};

template <class Channel>
class send_end : public channel_end<Channel, true> {
 public:
  send_end(Channel& c, typename Channel::value_type v) : channel_end<Channel, true>(c), value_(std::move(v)) {}
  bool await_ready() const noexcept { return false; }
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    this->outgoing = &value_;
    return this->suspend(h, [this] { return trident::detail::channel_hooks<Channel>::offer(this->channel_, value_); });
  }
  void await_resume() {
    this->finish_wait();
    if (this->outcome == trident::detail::intrusive_waiter::state::closed) {
      throw channel_closed_error("channel closed; the value was not delivered");
    }
  }

 private:
  typename Channel::value_type value_;
};

}  // namespace detail

/// Receives from `ch` in a coroutine: the next value, or `std::nullopt` once the channel is
/// closed and drained. Threads may be sending and receiving on the same channel meanwhile.
///
/// @par Cancellation
/// A cancellation point. Cancel safety: a value is never lost — if the channel handed the
/// awaiting task a value before the cancellation took effect, the value is returned and the
/// cancellation is raised at the task's next suspension point.
///
/// @code
///   trident::channel<job> jobs(16);
///   while (auto j = co_await aio::receive(jobs)) co_await handle(*j);
/// @endcode
template <class Channel>
detail::receive_end<Channel> receive(Channel& ch) {
  return detail::receive_end<Channel>(ch);
}

/// Sends `value` on `ch` from a coroutine, waiting while the channel is full; throws
/// `channel_closed_error` if it is (or gets) closed.
///
/// @par Cancellation
/// A cancellation point. Cancel safety: a cancelled send did not deliver its value (it is
/// dropped with the awaiter); a send that delivered before the cancellation took effect
/// completes normally and the cancellation is raised at the next suspension point.
template <class Channel>
detail::send_end<Channel> send(Channel& ch, typename Channel::value_type value) {
  return detail::send_end<Channel>(ch, std::move(value));
}

}  // namespace trident::aio
