#pragma once
/// @file
/// `proc::queue<T>`: a bounded queue between processes (Python's `multiprocessing.Queue`), in
/// shared memory with futex wake-ups.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "trident/core/errors.hpp"
#include "trident/sync/channel_types.hpp"
#include "trident/proc/codec.hpp"
#include "trident/proc/detail/inherit.hpp"
#include "trident/proc/detail/shm_ring.hpp"

namespace trident::proc {

namespace detail {
struct queue_access;  // proc/run_in.hpp: the awaitables' way to the ring
}  // namespace detail

/// A snapshot of a `proc::queue` (Trio's `statistics()`).
struct queue_statistics {
  std::size_t size = 0;  ///< values in the queue right now, all processes
  std::size_t capacity = 0;
  bool closed = false;
  /// Coroutines of this process waiting on this handle's ring (to receive or to send).
  std::size_t waiting_coroutines = 0;
  /// Watcher threads of every process asleep on the ring for their coroutines right now.
  std::size_t sleeping_watchers = 0;
  /// Times this process's watcher threads woke up: once per change of the queue they slept
  /// through (or per wait withdrawn by a cancelled coroutine), never on a timer.
  std::uint64_t watcher_wakeups = 0;
};

/// A bounded many-producer many-consumer FIFO of `T` values shared by processes.
///
/// Values are encoded with the codec (`codec.hpp`) into fixed-size slots of a shared-memory
/// ring (a memfd: nothing appears under /dev/shm, and it disappears with the last process that
/// maps it). `send` waits while the queue is full, `receive` while it is empty — blocked in the
/// kernel on a futex, never polling; both have `try_` and timed forms with the result types of
/// `trident::sync::channel` (`send_status`, `receive_result`). `close()` ends the stream: producers'
/// `send` then throws `channel_closed_error`, consumers drain what is left and then `receive`
/// returns nullopt, so no sentinel value is needed.
///
/// @par Sharing
/// A `queue` is a handle; copies refer to the same queue. It reaches another process by
/// inheritance only: pass it as an argument to a `proc::process` (the child inherits the memfd),
/// as Python's `Queue` must be passed to `Process`. Handing it to a process pool task throws
/// `std::logic_error`.
///
/// @par From coroutines
/// `co_await aio::receive(q)` and `co_await aio::send(q, v)` (proc/run_in.hpp), the same verbs
/// as for `trident::sync::channel` and `aio::queue`, never block the event loop: a waiting coroutine
/// leaves a wake-up hook with a watcher thread (one per queue and direction in each process,
/// shared by the handle's copies, started on first use), which sleeps on the queue's futex (no
/// polling) and wakes the coroutine through its loop.
///
/// @par Thread safety
/// All members may be called from any thread of any process holding the queue.
///
/// @code
///   proc::queue<std::string> q(16);
///   proc::process consumer(consume, q);
///   consumer.start();
///   q.send("data_1");
///   q.close();
///   consumer.join();
/// @endcode
template <class T>
class queue {
 public:
  using value_type = T;

  /// A new queue of `capacity` messages, each at most `max_message_bytes` once encoded.
  explicit queue(std::size_t capacity, std::size_t max_message_bytes = 4096)
      : ring_(std::make_shared<detail::shm_ring>(capacity, max_message_bytes)) {}

  queue() = default;  ///< An empty handle (for decoding); not usable until assigned.

  /// Waits for room, then appends `value`. Throws channel_closed_error if the queue is closed,
  /// std::length_error if the encoded value exceeds the slot size.
  void send(const T& value) { (void)put_impl(value, nullptr); }
  /// Like `send`, waiting at most `timeout`: `ok`, `timeout`, or `closed` (nothing thrown).
  template <class Rep, class Period>
  sync::send_status send_for(const T& value, std::chrono::duration<Rep, Period> timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    return send_until(value, &deadline);
  }
  /// Appends without waiting: `ok`, `full`, or `closed` (nothing thrown).
  sync::send_status try_send(const T& value) {
    const auto now = std::chrono::steady_clock::now();
    const sync::send_status s = send_until(value, &now);
    return s == sync::send_status::timeout ? sync::send_status::full : s;
  }

  /// Waits for a value and takes it; nullopt once the queue is closed and drained.
  std::optional<T> receive() { return take(nullptr); }
  /// Like `receive`, waiting at most `timeout`: `ok` with the value, `timeout`, or `closed`
  /// (closed and drained).
  template <class Rep, class Period>
  sync::receive_result<T> receive_for(std::chrono::duration<Rep, Period> timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    return receive_until(&deadline, sync::receive_status::timeout);
  }
  /// Takes a value without waiting: `ok` with the value, `empty`, or `closed` (closed and
  /// drained).
  sync::receive_result<T> try_receive() {
    const auto now = std::chrono::steady_clock::now();
    return receive_until(&now, sync::receive_status::empty);
  }

  /// Waits until a value is there or the queue is closed, up to `timeout`, taking nothing.
  template <class Rep, class Period>
  bool wait_readable_for(std::chrono::duration<Rep, Period> timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    return ring().wait_readable(&deadline);
  }

  /// Closes the queue for every process; idempotent.
  void close() { ring().close(); }
  [[nodiscard]] bool closed() const { return ring().closed(); }
  /// Values in the queue right now.
  [[nodiscard]] std::size_t size() const { return ring().size(); }
  [[nodiscard]] std::size_t capacity() const { return ring().capacity(); }
  [[nodiscard]] queue_statistics statistics() const {
    auto& r = ring();
    return {r.size(), r.capacity(), r.closed(), r.watched(), r.sleeping_watchers(), r.watcher_wakeups()};
  }

  /// Encoding for `process` arguments: the memfd's number, which the child inherits.
  template <class Archive>
  void save(Archive& archive) const {
    auto* fds = detail::inherited_fds();
    if (fds == nullptr) {
      throw std::logic_error(
          "a proc::queue can only be passed to a proc::process (by inheritance), "
          "not to a process pool task");
    }
    const int fd = ring().descriptor();
    fds->push_back(fd);
    archive(fd);
  }
  template <class Archive>
  void load(Archive& archive) {
    int fd = -1;
    archive(fd);
    ring_ = std::make_shared<detail::shm_ring>(fd);
  }

 private:
  friend struct detail::queue_access;

  detail::shm_ring& ring() const {
    if (!ring_) throw std::logic_error("proc::queue handle is empty");
    return *ring_;
  }
  // Values are encoded straight into their slot and decoded straight out of it: no copy
  // through an intermediate buffer.
  bool put_impl(const T& value, const std::chrono::steady_clock::time_point* deadline) {
    auto write = [](void* context, char* dst, std::size_t room) -> std::size_t {
      return detail::encode_into_buffer(dst, room, *static_cast<const T*>(context));
    };
    return ring().put_with(write, const_cast<T*>(&value), deadline);
  }
  sync::send_status send_until(const T& value, const std::chrono::steady_clock::time_point* deadline) {
    if (closed()) return sync::send_status::closed;
    try {
      return put_impl(value, deadline) ? sync::send_status::ok : sync::send_status::timeout;
    } catch (const channel_closed_error&) {  // closed while it waited
      return sync::send_status::closed;
    }
  }
  sync::receive_result<T> receive_until(const std::chrono::steady_clock::time_point* deadline,
                                        sync::receive_status none) {
    sync::receive_result<T> r;
    r.value = take(deadline);
    if (!r.value && closed()) r.value = take_now();  // closed after the wait: drain first
    r.status = r.value ? sync::receive_status::ok : (closed() ? sync::receive_status::closed : none);
    return r;
  }
  std::optional<T> take_now() {
    const auto now = std::chrono::steady_clock::now();
    return take(&now);
  }
  std::optional<T> take(const std::chrono::steady_clock::time_point* deadline) {
    std::optional<T> out;
    auto read = [](void* context, std::string_view bytes) {
      static_cast<std::optional<T>*>(context)->emplace(decode<T>(bytes));
    };
    if (!ring().get_with(read, &out, deadline)) return std::nullopt;
    return out;
  }

  std::shared_ptr<detail::shm_ring> ring_;
};

}  // namespace trident::proc
