#pragma once
/// @file
/// Low-level interface: `aio::receive` and `aio::send` for a queue that a layer above aio (the
/// process layer's `proc::queue`) or a user owns. aio owns the verbs; the queue's own namespace
/// supplies the wait, found by argument-dependent lookup, so no layer adds overloads to
/// `trident::aio`. Part of `aio/lowlevel.hpp`.
///
/// A type `Q` takes part by offering, in `Q`'s namespace:
///
/// | member or free function | what it does |
/// |---|---|
/// | `Q::value_type` | what the queue carries |
/// | `q.try_receive()` → `receive_result<value_type>` | takes a value without waiting: `ok`, `empty` or `closed` |
/// | `q.try_send(const value_type&)` → `send_status` | puts a value without waiting: `ok`, `full` or `closed` |
/// | `wait_receivable(q)` → awaitable | suspends until `try_receive` may find a value or the close |
/// | `wait_sendable(q)` → awaitable | suspends until `try_send` may find room or the close |
///
/// The two awaitables are cancellation points (`lowlevel::cancellable_wait`) and may wake
/// spuriously: the verbs try again after every resumption.
///
/// @code
///   namespace mine {
///   struct mailbox { using value_type = int; ... try_receive(); try_send(const int&); };
///   until_mail wait_receivable(mailbox& m);  // found by ADL from aio::receive
///   until_room wait_sendable(mailbox& m);
///   }
///   std::optional<int> v = co_await aio::receive(box);
/// @endcode

#include <concepts>
#include <optional>
#include <utility>

#include "trident/aio/task.hpp"
#include "trident/core/errors.hpp"
#include "trident/sync/channel_types.hpp"

namespace trident::aio::lowlevel {

/// A queue `aio::receive` / `aio::send` can wait on without a thread (see the file comment).
template <class Queue>
concept waitable_queue = requires(Queue& q, const typename Queue::value_type& v) {
  { q.try_receive() } -> std::same_as<sync::receive_result<typename Queue::value_type>>;
  { q.try_send(v) } -> std::same_as<sync::send_status>;
  wait_receivable(q);
  wait_sendable(q);
};

}  // namespace trident::aio::lowlevel

namespace trident::aio {

/// Receives the next value of `q` from a coroutine without blocking the loop: the value, or
/// nullopt once `q` is closed and drained — the verb of `aio::receive(channel)` and
/// `aio::receive(aio::queue)`. While `q` is empty the coroutine waits on `wait_receivable(q)`.
/// `q` must outlive the call.
///
/// @par Cancellation
/// A cancellation point while it waits. Cancel-safe: a cancelled `receive` has taken nothing.
template <lowlevel::waitable_queue Queue>
task<std::optional<typename Queue::value_type>> receive(Queue& q) {
  for (;;) {
    sync::receive_result<typename Queue::value_type> r = q.try_receive();
    if (r.status == sync::receive_status::ok) co_return std::move(r.value);
    if (r.status == sync::receive_status::closed) co_return std::nullopt;
    auto readable = wait_receivable(q);  // named: g++ 12 and temporaries in co_await (README)
    co_await readable;
  }
}

/// Sends `value` on `q` from a coroutine without blocking the loop, waiting on
/// `wait_sendable(q)` while `q` is full. Throws `channel_closed_error` if `q` is or gets
/// closed; whatever `q.try_send` throws (a value too large for it) passes through. `q` must
/// outlive the call.
///
/// @par Cancellation
/// A cancellation point while it waits. Cancel-safe: a cancelled `send` delivered nothing.
template <lowlevel::waitable_queue Queue>
task<void> send(Queue& q, typename Queue::value_type value) {
  for (;;) {
    const sync::send_status s = q.try_send(value);
    if (s == sync::send_status::ok) co_return;
    if (s == sync::send_status::closed) throw channel_closed_error("the queue is closed; the value was not delivered");
    auto writable = wait_sendable(q);  // named: g++ 12 and temporaries in co_await (README)
    co_await writable;
  }
}

}  // namespace trident::aio
