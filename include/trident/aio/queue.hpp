#pragma once
/// @file
/// `aio::queue`: a producer/consumer queue for coroutines of one loop (Python's `asyncio.Queue`,
/// `LifoQueue` and `PriorityQueue`), with `close()` so consumers end without a sentinel.
///
/// Hand-off protocol (what makes it fair and cancel safe). "Getters" are waiting receivers,
/// "putters" waiting senders:
///   1. A getter waits only while no item is free, a putter only while no slot is free. Items
///      and slots are "free" when not promised to a woken waiter.
///   2. A put that finds getters waiting promises one item to the longest getter
///      (`reserved_items_`) and wakes it; a get that frees a slot promises it to the longest
///      putter (`reserved_slots_`). Nobody can take a promised item or slot in between, so
///      waiters are served first come, first served (no barging by try_receive/try_send).
///   3. The promised getter takes the item when it resumes (the one at the head by the order
///      policy at that moment); the promised putter pushes its item when it resumes.
///   4. A woken waiter that sees a cancellation instead passes its promise to the next waiter
///      (or frees it) and raises `cancelled_error`: the item stays in the queue, the slot stays
///      free.
///   5. `close()` wakes every waiter without a promise: getters return `nullopt` once no free
///      item is left, putters throw `channel_closed_error`.

#include <algorithm>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "trident/aio/detail/wait_list.hpp"
#include "trident/aio/event.hpp"
#include "trident/aio/event_loop.hpp"
#include "trident/aio/task.hpp"
#include "trident/core/errors.hpp"
#include "trident/sync/channel_types.hpp"

namespace trident::aio {

/// First in, first out (`asyncio.Queue`).
struct fifo_order {
  template <class T>
  class container {
   public:
    void push(T&& v) { items_.push_back(std::move(v)); }
    T pop() {
      T v = std::move(items_.front());
      items_.pop_front();
      return v;
    }
    [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }

   private:
    std::deque<T> items_;
  };
};

/// Last in, first out (`asyncio.LifoQueue`).
struct lifo_order {
  template <class T>
  class container {
   public:
    void push(T&& v) { items_.push_back(std::move(v)); }
    T pop() {
      T v = std::move(items_.back());
      items_.pop_back();
      return v;
    }
    [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }

   private:
    std::vector<T> items_;
  };
};

/// Smallest first (`asyncio.PriorityQueue`, a min-heap): `Compare(a, b)` true means `a` comes out
/// before `b`. With the default `std::less<>`, 1 comes out before 2; use `std::greater<>` for
/// largest first. Items that compare equal come out in the order they were put (stable, unlike
/// heapq), so `(priority, payload)` pairs need no tie-breaking counter.
template <class Compare = std::less<>>
struct priority_order {
  template <class T>
  class container {
   public:
    void push(T&& v) {
      heap_.push_back(entry{std::move(v), next_++});
      std::push_heap(heap_.begin(), heap_.end(), later{});
    }
    T pop() {
      std::pop_heap(heap_.begin(), heap_.end(), later{});
      T v = std::move(heap_.back().value);
      heap_.pop_back();
      return v;
    }
    [[nodiscard]] std::size_t size() const noexcept { return heap_.size(); }

   private:
    struct entry {
      T value;
      std::uint64_t sequence;
    };
    /// std::*_heap keep the "largest" at the front; "largest" here is the one to come out first.
    struct later {
      bool operator()(const entry& a, const entry& b) const {
        Compare before;
        if (before(b.value, a.value)) return true;
        if (before(a.value, b.value)) return false;
        return b.sequence < a.sequence;
      }
    };
    std::vector<entry> heap_;
    std::uint64_t next_ = 0;
  };
};

/// A queue between coroutines of one loop (`asyncio.Queue`), bounded (`maxsize > 0`; a full
/// queue makes `send` wait) or unbounded (`maxsize == 0`). The `Order` policy picks which item
/// `receive` returns: `fifo_order` (default), `lifo_order`, or `priority_order<Compare>` (smallest
/// first) — see the aliases `fifo_queue`, `lifo_queue`, `priority_queue`.
///
/// - `co_await q.send(v)` / `co_await q.receive()` wait (also spelled `aio::send(q, v)` /
///   `aio::receive(q)`, the verbs every Trident queue and channel shares); `try_send` /
///   `try_receive` do not, and return `send_status` / `receive_result` as channels do.
///   Waiting receivers and senders are served in arrival order; an item or slot freed while
///   someone waits goes to the longest waiter.
/// - `task_done()` after processing each item, `join()` to wait until every item put so far
///   has been processed (asyncio's `task_done`/`join`).
/// - `close()`: later sends throw `channel_closed_error`; receivers drain what is left and then
///   get `std::nullopt`, so consumers need no sentinel: `while (auto v = co_await q.receive())`.
///
/// @par Thread safety
/// Loop thread only (construction may happen anywhere); there is no blocking form for threads.
/// To connect threads and coroutines use `trident::sync::channel` (blocking `send`/`receive` for
/// threads, `co_await aio::send`/`aio::receive` for coroutines). The queue must outlive its
/// waiters.
///
/// @par Cancellation
/// `send`, `receive` and `join` are cancellation points (also when they could complete at
/// once). Cancel safety:
/// - A cancelled `receive()` never loses an item: it either returned the item or raised
///   `cancelled_error` with the item still in the queue (passed on to the next getter if one
///   waits).
/// - A cancelled `send(v)` either delivered `v` (it returned) or raised `cancelled_error` with
///   `v` not in the queue; a freed slot promised to it passes on to the next putter.
/// - Other waiters keep their places.
///
/// @code
///   aio::fifo_queue<std::string> q(10);
///   aio::task<void> producer() {
///     for (auto& url : urls) co_await q.send(url);
///     q.close();
///   }
///   aio::task<void> consumer() {
///     while (auto url = co_await q.receive()) { co_await fetch(*url); q.task_done(); }
///   }
/// @endcode
template <class T, class Order = fifo_order>
class queue {
  enum wake : unsigned char { promised = 0, closing = 1 };

 public:
  using value_type = T;

  /// Awaiter of `receive()`.
  class receive_awaiter : detail::parked_awaiter {
   public:
    explicit receive_awaiter(queue& q) noexcept : q_(q) {}
    bool await_ready() const noexcept { return false; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> h) {
      if (bind(h)) return false;
      if (q_.free_items() > 0 || q_.closed_) return false;
      park(h, q_.getters_);
      return true;
    }
    std::optional<T> await_resume() {
      const bool cancelled = finish();
      const bool promised_item = woken() && wake_reason() == promised;
      if (promised_item) --q_.reserved_items_;
      if (cancelled) {
        if (promised_item) q_.offer_item();
        throw cancelled_error("cancelled while getting from a queue");
      }
      if (!promised_item && q_.free_items() == 0) return std::nullopt;  // closed and drained
      return q_.take();
    }

   private:
    queue& q_;
  };

  /// Awaiter of `send()`; holds the item until it is in the queue.
  class send_awaiter : detail::parked_awaiter {
   public:
    send_awaiter(queue& q, T v) : q_(q), value_(std::move(v)) {}
    bool await_ready() const noexcept { return false; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> h) {
      if (bind(h)) return false;
      if (q_.free_slots() > 0 || q_.closed_) return false;
      park(h, q_.putters_);
      return true;
    }
    void await_resume() {
      const bool cancelled = finish();
      const bool promised_slot = woken() && wake_reason() == promised;
      if (promised_slot) --q_.reserved_slots_;
      if (cancelled || q_.closed_) {
        if (promised_slot) q_.offer_slot();
        if (cancelled) throw cancelled_error("cancelled while putting into a queue");
        throw channel_closed_error("send on a closed queue");
      }
      q_.push(std::move(value_));
    }

   private:
    queue& q_;
    T value_;
  };

  /// `maxsize == 0`: unbounded.
  explicit queue(std::size_t maxsize = 0) : maxsize_(maxsize) { all_done_.set(); }
  queue(const queue&) = delete;
  queue& operator=(const queue&) = delete;

  /// `co_await q.send(v)`: puts `v`, waiting while the queue is full. Throws
  /// `channel_closed_error` if the queue is (or gets) closed before `v` is in. A cancellation
  /// point. Same as `co_await aio::send(q, v)`.
  [[nodiscard]] send_awaiter send(T v) { return send_awaiter(*this, std::move(v)); }

  /// `co_await q.receive()`: the next item by the order policy, waiting while there is none;
  /// `nullopt` once the queue is closed and drained. A cancellation point. Same as
  /// `co_await aio::receive(q)`.
  [[nodiscard]] receive_awaiter receive() noexcept { return receive_awaiter(*this); }

  /// Puts `v` if there is a free slot now (and nobody waits for one): `ok`, `full`, or
  /// `closed`. `v` is only moved from on `ok`.
  template <class U = T>
  sync::send_status try_send(U&& v) {
    if (closed_) return sync::send_status::closed;
    if (free_slots() == 0) return sync::send_status::full;
    push(T(std::forward<U>(v)));
    return sync::send_status::ok;
  }

  /// The next item if one is free now (not promised to a waiting receiver): `ok` with it,
  /// `empty`, or `closed` (closed and drained).
  sync::receive_result<T> try_receive() {
    sync::receive_result<T> r;
    if (free_items() > 0) {
      r.value.emplace(take());
      r.status = sync::receive_status::ok;
    } else {
      r.status = closed_ ? sync::receive_status::closed : sync::receive_status::empty;
    }
    return r;
  }

  /// Marks one item taken by `receive` as processed. Throws std::logic_error if called more often
  /// than items were put (asyncio's ValueError).
  void task_done() {
    if (unfinished_ == 0) throw std::logic_error("queue::task_done called more times than items were put");
    if (--unfinished_ == 0) all_done_.set();
  }

  /// Waits until every item put so far has been marked `task_done`. A cancellation point.
  [[nodiscard]] event::wait_awaiter join() noexcept { return all_done_.wait(); }

  /// No more sends: waiting senders throw `channel_closed_error`, getters drain the queue and then
  /// get `nullopt`. Idempotent.
  void close() {
    closed_ = true;
    getters_.wake_all(closing);
    putters_.wake_all(closing);
  }

  /// Items in the queue (including ones promised to a getter that has not resumed yet).
  [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
  [[nodiscard]] bool empty() const noexcept { return items_.size() == 0; }
  [[nodiscard]] bool full() const noexcept { return maxsize_ != 0 && items_.size() >= maxsize_; }
  [[nodiscard]] std::size_t maxsize() const noexcept { return maxsize_; }
  [[nodiscard]] bool closed() const noexcept { return closed_; }
  /// Items put and not yet marked `task_done`.
  [[nodiscard]] std::size_t unfinished() const noexcept { return unfinished_; }
  [[nodiscard]] std::size_t waiting_receivers() const noexcept { return getters_.size(); }
  [[nodiscard]] std::size_t waiting_senders() const noexcept { return putters_.size(); }

 private:
  [[nodiscard]] std::size_t free_items() const noexcept { return items_.size() - reserved_items_; }
  [[nodiscard]] std::size_t free_slots() const noexcept {
    if (maxsize_ == 0) return SIZE_MAX;
    const std::size_t used = items_.size() + reserved_slots_;
    return used >= maxsize_ ? 0 : maxsize_ - used;
  }

  /// Step 2: an item became free; promise it to the longest getter.
  void offer_item() {
    if (free_items() > 0 && getters_.wake_front(promised)) ++reserved_items_;
  }
  /// Step 2: a slot became free; promise it to the longest putter.
  void offer_slot() {
    if (free_slots() > 0 && putters_.wake_front(promised)) ++reserved_slots_;
  }

  void push(T&& v) {
    items_.push(std::move(v));
    if (unfinished_++ == 0) all_done_.clear();
    offer_item();
  }
  T take() {
    T v = items_.pop();
    offer_slot();
    return v;
  }

  std::size_t maxsize_;
  typename Order::template container<T> items_;
  std::size_t reserved_items_ = 0;  // promised to woken getters
  std::size_t reserved_slots_ = 0;  // promised to woken putters
  std::size_t unfinished_ = 0;
  bool closed_ = false;
  detail::wait_list getters_;
  detail::wait_list putters_;
  event all_done_;  // set while unfinished_ == 0
};

/// `co_await aio::send(q, v)`: the verb shared with channels and `proc::queue`; see
/// `queue::send`.
template <class T, class Order>
[[nodiscard]] typename queue<T, Order>::send_awaiter send(queue<T, Order>& q, std::type_identity_t<T> v) {
  return q.send(std::move(v));
}

/// `co_await aio::receive(q)`: the verb shared with channels and `proc::queue`; see
/// `queue::receive`.
template <class T, class Order>
[[nodiscard]] typename queue<T, Order>::receive_awaiter receive(queue<T, Order>& q) noexcept {
  return q.receive();
}

/// `asyncio.Queue`.
template <class T>
using fifo_queue = queue<T, fifo_order>;
/// `asyncio.LifoQueue`.
template <class T>
using lifo_queue = queue<T, lifo_order>;
/// `asyncio.PriorityQueue`: smallest first by `Compare`, ties in put order.
template <class T, class Compare = std::less<>>
using priority_queue = queue<T, priority_order<Compare>>;

}  // namespace trident::aio
