#pragma once
/// @file
/// The one implementation behind `channel<T>` and `priority_channel<T>`, templated on the
/// buffer policy that decides which buffered value leaves first.
///
/// Invariants, all under `mutex_`:
///  - senders wait only while the buffer is full: `!senders_.empty()` implies
///    `buffer_.size() == capacity_`;
///  - receivers wait only while the buffer is empty: `!receivers_.empty()` implies
///    `buffer_.empty()`;
///  - once `closed_`, both waiter lists are empty and stay empty.
///
/// Send protocol:
///  1. closed -> fail (`send` throws, the others return `closed`); the value is untouched.
///  2. a receiver is waiting -> move the value straight into its slot (direct hand-off: the
///     value never enters the buffer), mark it `done`, unlink and wake it.
///  3. room in the buffer -> push.
///  4. otherwise (unless `try_send`) link a sender waiter pointing at the caller's value and
///     sleep. A receiver that frees a slot moves the first waiting sender's value into the
///     buffer and wakes it (`done`); `close()` wakes it with `closed`; on timeout the sender
///     unlinks itself if it is still `waiting`, and the value is untouched.
/// Receive protocol:
///  1. buffer not empty -> pop; if a sender waits, move its value into the freed slot and wake
///     it.
///  2. closed (and therefore drained) -> `nullopt` / `closed`.
///  3. otherwise (unless `try_receive`) link a receiver waiter and sleep until a sender hands it
///     a value (`done`), `close()` (`closed`) or the deadline (unlink, `timeout`).
///
/// Waiters other than threads (the aio layer's coroutine ends) use the public low-level
/// interface below — `send_or_link`, `receive_or_link`, `withdraw` — whose protocol is written
/// out in `sync/channel_waiter.hpp`.

#include <cassert>
#include <chrono>
#include <concepts>
#include <condition_variable>
#include <cstddef>
#include <iterator>
#include <mutex>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "trident/core/errors.hpp"
#include "trident/sync/channel_types.hpp"
#include "trident/sync/detail/deadline.hpp"
#include "trident/sync/detail/waiter.hpp"

namespace trident::sync::detail {

/// Marks a wait without a deadline.
struct no_deadline {};

template <class T, class Buffer>
class basic_channel {
 public:
  using value_type = T;

  /// Throws std::invalid_argument when `capacity` is 0.
  explicit basic_channel(std::size_t capacity, Buffer buffer = Buffer{})
      : capacity_(checked_capacity(capacity)), buffer_(std::move(buffer)) {}

  basic_channel(const basic_channel&) = delete;
  basic_channel& operator=(const basic_channel&) = delete;

  /// Precondition: no thread is blocked on the channel.
  ~basic_channel() { assert(senders_.empty() && receivers_.empty()); }

  // --- sending ------------------------------------------------------------------------------

  /// Blocks while the channel is full. Throws channel_closed_error if the channel is closed
  /// before the value is taken; the value is then destroyed with the parameter.
  void send(T value) {
    if (send_wait<no_deadline>(value, nullptr) == send_status::closed) {
      throw channel_closed_error();
    }
  }

  /// Never blocks. On anything but `ok`, `value` is not moved from.
  send_status try_send(T&& value) {
    std::lock_guard lock{mutex_};
    if (closed_) return send_status::closed;
    return offer_locked(value) ? send_status::ok : send_status::full;
  }
  send_status try_send(const T& value)
    requires std::copy_constructible<T>
  {
    T copy(value);
    return try_send(std::move(copy));
  }

  /// Blocks while full, at most for `timeout`. On anything but `ok`, `value` is not moved from.
  template <class Rep, class Period>
  send_status send_for(T&& value, const std::chrono::duration<Rep, Period>& timeout) {
    return send_until(std::move(value), deadline_after(timeout));
  }
  template <class Rep, class Period>
  send_status send_for(const T& value, const std::chrono::duration<Rep, Period>& timeout)
    requires std::copy_constructible<T>
  {
    T copy(value);
    return send_for(std::move(copy), timeout);
  }

  /// Blocks while full, at most until `deadline`. On anything but `ok`, `value` is not moved
  /// from.
  template <class Clock, class Duration>
  send_status send_until(T&& value, const std::chrono::time_point<Clock, Duration>& deadline) {
    return send_wait(value, &deadline);
  }
  template <class Clock, class Duration>
  send_status send_until(const T& value, const std::chrono::time_point<Clock, Duration>& deadline)
    requires std::copy_constructible<T>
  {
    T copy(value);
    return send_wait(copy, &deadline);
  }

  // --- receiving ----------------------------------------------------------------------------

  /// Blocks while the channel is empty and open. Returns `nullopt` only once the channel is
  /// closed and every buffered value has been received.
  std::optional<T> receive() {
    receive_result<T> r = receive_wait<no_deadline>(nullptr, true);
    return std::move(r.value);
  }

  /// Never blocks: `ok` with a value, `empty`, or `closed` (closed and drained).
  receive_result<T> try_receive() { return receive_wait<no_deadline>(nullptr, false); }

  /// Blocks while empty and open, at most for `timeout`.
  template <class Rep, class Period>
  receive_result<T> receive_for(const std::chrono::duration<Rep, Period>& timeout) {
    return receive_until(deadline_after(timeout));
  }

  /// Blocks while empty and open, at most until `deadline`.
  template <class Clock, class Duration>
  receive_result<T> receive_until(const std::chrono::time_point<Clock, Duration>& deadline) {
    return receive_wait(&deadline, true);
  }

  // --- closing and state --------------------------------------------------------------------

  /// Refuses further sends and wakes every blocked party: blocked senders fail (their values
  /// stay with them), blocked receivers get `nullopt`/`closed` (they only wait when the buffer
  /// is empty). Buffered values can still be received. Idempotent.
  void close() {
    std::lock_guard lock{mutex_};
    if (closed_) return;
    closed_ = true;
    complete_all(senders_);
    complete_all(receivers_);
  }

  [[nodiscard]] bool is_closed() const {
    std::lock_guard lock{mutex_};
    return closed_;
  }
  /// Values buffered right now.
  [[nodiscard]] std::size_t size() const {
    std::lock_guard lock{mutex_};
    return buffer_.size();
  }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

  [[nodiscard]] channel_statistics statistics() const {
    std::lock_guard lock{mutex_};
    return {sent_, received_, senders_.size(), receivers_.size(), buffer_.size(), capacity_, closed_};
  }

  /// Prints e.g. `channel [open, 3/5 items, senders waiting:1]`.
  friend std::ostream& operator<<(std::ostream& os, const basic_channel& ch) {
    const channel_statistics s = ch.statistics();
    std::string text(Buffer::kind);
    text += s.closed ? " [closed, " : " [open, ";
    text += std::to_string(s.size) + "/" + std::to_string(s.capacity) + " items";
    if (s.blocked_senders != 0) text += ", senders waiting:" + std::to_string(s.blocked_senders);
    if (s.blocked_receivers != 0) {
      text += ", receivers waiting:" + std::to_string(s.blocked_receivers);
    }
    text += "]";
    return os << text;
  }

  // --- low-level interface: waiters other than threads (see sync/channel_waiter.hpp) ---------

  /// Sends `value` at once if a receiver waits or the buffer has room (`ok`, `w.outcome` set to
  /// `done`, `value` moved from), fails on a closed channel (`closed`, `w.outcome` set to
  /// `closed`, `value` untouched), else links `w` with `w.outgoing = &value` and returns `full`:
  /// `w.wake()` comes once a receiver took the value or the channel closed. Never blocks.
  send_status send_or_link(T& value, channel_waiter<T>& w) {
    std::lock_guard lock{mutex_};
    if (closed_) {
      w.outcome = waiter_outcome::closed;
      return send_status::closed;
    }
    if (offer_locked(value)) {
      w.outcome = waiter_outcome::done;
      return send_status::ok;
    }
    w.outcome = waiter_outcome::waiting;
    w.outgoing = &value;
    senders_.push_back(w);
    return send_status::full;
  }

  /// Receives into `out` at once if a value is buffered (`ok`, also from a closed channel), ends
  /// on a closed and drained channel (`closed`), else links `w` with `w.incoming = &out` and
  /// returns `empty`: `w.wake()` comes once a sender handed it a value or the channel closed.
  /// Sets `w.outcome` in every case. Never blocks.
  receive_status receive_or_link(std::optional<T>& out, channel_waiter<T>& w) {
    std::lock_guard lock{mutex_};
    if (take_locked(out)) {
      w.outcome = waiter_outcome::done;
      return receive_status::ok;
    }
    if (closed_) {
      w.outcome = waiter_outcome::closed;
      return receive_status::closed;
    }
    w.outcome = waiter_outcome::waiting;
    w.incoming = &out;
    receivers_.push_back(w);
    return receive_status::empty;
  }

  /// Takes back a waiter that `send_or_link` / `receive_or_link` linked, or that completed at
  /// once. True if it was still linked (it is now unlinked, nothing was transferred); false if
  /// the channel had completed it (read `w.outcome`: `done` means the transfer happened).
  bool withdraw(channel_waiter<T>& w) noexcept {
    std::lock_guard lock{mutex_};
    return withdraw_locked(w);
  }

  // --- range-for ----------------------------------------------------------------------------

  /// Input iterator that receives on increment; equals `end()` once the channel is closed and
  /// drained.
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using reference = T&;
    using pointer = T*;

    iterator() = default;
    explicit iterator(basic_channel* channel) : channel_(channel) { ++*this; }

    T& operator*() const { return *current_; }
    T* operator->() const { return &*current_; }
    iterator& operator++() {
      current_ = channel_->receive();
      if (!current_) channel_ = nullptr;
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept { return it.channel_ == nullptr; }

   private:
    basic_channel* channel_ = nullptr;
    mutable std::optional<T> current_;
  };

  /// Receives the first value (blocking); `for (auto& v : ch)` ends when closed and drained.
  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() const noexcept { return {}; }

 private:
  /// Direct hand-off to a waiting receiver, else into the buffer. Moves from `value` only when
  /// it returns true. Assumes the caller holds `mutex_` and checked `closed_`.
  bool offer_locked(T& value) {
    if (!receivers_.empty()) {
      auto& receiver = static_cast<channel_waiter<T>&>(receivers_.front());
      receiver.incoming->emplace(std::move(value));
      receivers_.remove(receiver);
      ++sent_;
      ++received_;
      receiver.outcome = waiter_outcome::done;
      receiver.wake();
      return true;
    }
    if (buffer_.size() < capacity_) {
      buffer_.push(std::move(value));
      ++sent_;
      return true;
    }
    return false;
  }

  /// Takes the next buffered value into `out` and refills the freed slot from the first
  /// waiting sender. Returns false when the buffer is empty. Assumes the caller holds `mutex_`.
  bool take_locked(std::optional<T>& out) {
    if (buffer_.empty()) return false;
    out.emplace(buffer_.pop());
    ++received_;
    if (!senders_.empty()) {
      auto& sender = static_cast<channel_waiter<T>&>(senders_.front());
      buffer_.push(std::move(*sender.outgoing));
      senders_.remove(sender);
      ++sent_;
      sender.outcome = waiter_outcome::done;
      sender.wake();
    }
    return true;
  }

  /// Unlinks `w` if it is still waiting (timeout, cancellation); false when the channel already
  /// completed it. A linked sender points `outgoing` at its value, a receiver does not, which
  /// names its list. Assumes the caller holds `mutex_`.
  bool withdraw_locked(channel_waiter<T>& w) noexcept {
    if (w.outcome != waiter_outcome::waiting) return false;
    (w.outgoing != nullptr ? senders_ : receivers_).remove(w);
    return true;
  }

  static std::size_t checked_capacity(std::size_t capacity) {
    if (capacity == 0) {
      throw std::invalid_argument(std::string(Buffer::kind) +
                                  ": capacity must be at least 1 (a rendezvous channel with "
                                  "capacity 0 is not supported)");
    }
    return capacity;
  }

  /// Assumes the caller holds `mutex_`.
  static void complete_all(waiter_list& list) noexcept {
    while (!list.empty()) {
      channel_waiter_base& w = list.pop_front();
      w.outcome = waiter_outcome::closed;
      w.wake();
    }
  }

  /// Sleeps until `w` is completed or `*deadline` passes (never, for `no_deadline`). Returns
  /// with the lock held; `w.outcome` is still `waiting` only on timeout.
  template <class Deadline>
  static void sleep(std::unique_lock<std::mutex>& lock, thread_channel_waiter<T>& w, const Deadline* deadline) {
    while (w.outcome == waiter_outcome::waiting) {
      if constexpr (std::is_same_v<Deadline, no_deadline>) {
        w.woken.wait(lock);
      } else {
        if (w.woken.wait_until(lock, *deadline) == std::cv_status::timeout) return;
      }
    }
  }

  template <class Deadline>
  send_status send_wait(T& value, const Deadline* deadline) {
    std::unique_lock lock{mutex_};
    if (closed_) return send_status::closed;
    if (offer_locked(value)) return send_status::ok;
    thread_channel_waiter<T> self;
    self.outgoing = &value;
    senders_.push_back(self);
    sleep(lock, self, deadline);
    if (withdraw_locked(self)) return send_status::timeout;
    return self.outcome == waiter_outcome::done ? send_status::ok : send_status::closed;
  }

  template <class Deadline>
  receive_result<T> receive_wait(const Deadline* deadline, bool blocking) {
    receive_result<T> result;
    std::unique_lock lock{mutex_};
    if (take_locked(result.value)) {
      result.status = receive_status::ok;
    } else if (closed_) {
      result.status = receive_status::closed;
    } else if (!blocking) {
      result.status = receive_status::empty;
    } else {
      thread_channel_waiter<T> self;
      self.incoming = &result.value;
      receivers_.push_back(self);
      sleep(lock, self, deadline);
      if (withdraw_locked(self)) {
        result.status = receive_status::timeout;
      } else {
        result.status = self.outcome == waiter_outcome::done ? receive_status::ok : receive_status::closed;
      }
    }
    return result;
  }

  mutable std::mutex mutex_;
  const std::size_t capacity_;
  Buffer buffer_;
  waiter_list senders_;
  waiter_list receivers_;
  bool closed_ = false;
  std::size_t sent_ = 0;
  std::size_t received_ = 0;
};

}  // namespace trident::sync::detail
