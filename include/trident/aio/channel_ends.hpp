#pragma once
/// @file
/// The awaitable ends of `trident::sync::channel<T>` and `trident::sync::priority_channel<T>`: coroutines
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
#include "trident/sync/channel_types.hpp"
#include "trident/sync/channel_waiter.hpp"

namespace trident::aio {

namespace detail {

/// A coroutine blocked on a channel, through the channel's low-level interface
/// (sync/channel_waiter.hpp). The channel completes it under its own lock, from any thread;
/// `wake` then resumes the coroutine on its loop (directly when already on that loop's thread,
/// else through the loop's endpoint).
///
/// Steps:
///  1. `await_suspend`: `send_or_link` / `receive_or_link` completes at once if it can (no
///     suspension), else links the node; the task's cancel hook is installed.
///  2. The channel completes the node (`done` or `closed`), unlinks it and calls `wake`.
///  3. Cancellation (loop thread): `withdraw` the node; if it was still linked, resume the
///     coroutine, which raises `cancelled_error`. If the channel already completed it, the
///     transfer stands and is reported; the cancellation stays pending and is raised at the
///     task's next suspension point.
///  4. A frame destroyed while linked (a loop destroying unfinished tasks) withdraws the node.
template <class Channel, bool IsSender>
class channel_end : public sync::channel_waiter<typename Channel::value_type> {
 public:
  using T = typename Channel::value_type;

  explicit channel_end(Channel& c) noexcept : channel_(c) {}
  channel_end(const channel_end&) = delete;
  channel_end& operator=(const channel_end&) = delete;
  ~channel_end() {
    if (handle_) channel_.withdraw(*this);  // offered (handle_ is set first); no-op once completed
  }

  void wake() noexcept override {
    if (event_loop::current() == loop_) {
      loop_->schedule(handle_, context_);
    } else {
      lowlevel::post(*endpoint_, [loop = loop_, h = handle_, c = context_] { loop->schedule(h, c); });
    }
  }

 protected:
  /// `offer` is `send_or_link` or `receive_or_link` bound to this end; it returns true when it
  /// linked the node (the coroutine must wait).
  template <class Promise, class Offer>
  bool suspend(std::coroutine_handle<Promise> h, Offer offer) {
    context_ = lowlevel::context_of(h.promise());
    if (context_ != nullptr && context_->cancel_requested) return false;
    // Everything `wake` reads is set before the node can be linked: another thread may complete
    // it the moment it is.
    loop_ = &event_loop::running();
    endpoint_ = loop_->endpoint();
    handle_ = h;
    if (!offer()) return false;
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
    if (this->outcome != sync::waiter_outcome::done && context_->take_cancellation()) {
      throw cancelled_error("cancelled while waiting on a channel");
    }
  }

  Channel& channel_;

 private:
  static void on_cancel(void* arg) noexcept {
    auto* self = static_cast<channel_end*>(arg);
    if (self->channel_.withdraw(*self)) self->loop_->schedule(self->handle_, self->context_);
  }

  event_loop* loop_ = nullptr;
  std::shared_ptr<lowlevel::remote_endpoint> endpoint_;
  std::coroutine_handle<> handle_;
  lowlevel::task_context* context_ = nullptr;
};

template <class Channel>
class receive_end : public channel_end<Channel, false> {
 public:
  using channel_end<Channel, false>::channel_end;
  bool await_ready() const noexcept { return false; }
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    return this->suspend(
        h, [this] { return this->channel_.receive_or_link(value_, *this) == sync::receive_status::empty; });
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
    return this->suspend(h, [this] { return this->channel_.send_or_link(value_, *this) == sync::send_status::full; });
  }
  void await_resume() {
    this->finish_wait();
    if (this->outcome == sync::waiter_outcome::closed) {
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
///   trident::sync::channel<job> jobs(16);
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
