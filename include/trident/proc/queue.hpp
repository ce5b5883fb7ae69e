#pragma once
/// @file
/// `proc::queue<T>`: a bounded queue between processes (Python's `multiprocessing.Queue`), in
/// shared memory with futex wake-ups.

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "trident/core/errors.hpp"
#include "trident/proc/codec.hpp"
#include "trident/proc/detail/inherit.hpp"
#include "trident/proc/detail/shm_ring.hpp"

namespace trident::proc {

/// A bounded many-producer many-consumer FIFO of `T` values shared by processes.
///
/// Values are encoded with the codec (`codec.hpp`) into fixed-size slots of a shared-memory
/// ring (a memfd: nothing appears under /dev/shm, and it disappears with the last process that
/// maps it). `put` waits while the queue is full, `get` while it is empty — blocked in the
/// kernel on a futex, never polling; both have `try_` and timed forms. `close()` ends the
/// stream: producers' `put` then throws `channel_closed_error`, consumers drain what is left and
/// then `get` returns nullopt, so no sentinel value is needed.
///
/// @par Sharing
/// A `queue` is a handle; copies refer to the same queue. It reaches another process by
/// inheritance only: pass it as an argument to a `proc::process` (the child inherits the memfd),
/// as Python's `Queue` must be passed to `Process`. Handing it to a process pool task throws
/// `std::logic_error`.
///
/// @par From coroutines
/// `aio::queue_get(q)` and `aio::queue_put(q, v)` (proc/aio.hpp) wait on a helper thread and
/// never block the event loop.
///
/// @par Thread safety
/// All members may be called from any thread of any process holding the queue.
///
/// @code
///   proc::queue<std::string> q(16);
///   proc::process consumer(consume, q);
///   consumer.start();
///   q.put("data_1");
///   q.close();
///   consumer.join();
/// @endcode
template <class T>
class queue {
 public:
  /// A new queue of `capacity` messages, each at most `max_message_bytes` once encoded.
  explicit queue(std::size_t capacity, std::size_t max_message_bytes = 4096)
      : ring_(std::make_shared<detail::shm_ring>(capacity, max_message_bytes)) {}

  queue() = default;  ///< An empty handle (for decoding); not usable until assigned.

  /// Waits for room, then appends `value`. Throws channel_closed_error if the queue is closed,
  /// std::length_error if the encoded value exceeds the slot size.
  void put(const T& value) { (void)put_impl(value, nullptr); }
  /// Like `put`, waiting at most `timeout`; returns false if it timed out.
  template <class Rep, class Period>
  bool put_for(const T& value, std::chrono::duration<Rep, Period> timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    return put_impl(value, &deadline);
  }
  /// Appends without waiting; false if the queue is full.
  bool try_put(const T& value) {
    const auto now = std::chrono::steady_clock::now();
    return put_impl(value, &now);
  }

  /// Waits for a value and takes it; nullopt once the queue is closed and drained.
  std::optional<T> get() { return take(nullptr); }
  /// Like `get`, waiting at most `timeout`; nullopt on timeout too (`closed()` tells apart).
  template <class Rep, class Period>
  std::optional<T> get_for(std::chrono::duration<Rep, Period> timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    return take(&deadline);
  }
  /// Takes a value without waiting; nullopt if there is none.
  std::optional<T> try_get() {
    const auto now = std::chrono::steady_clock::now();
    return take(&now);
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

  /// Encoding for `process` arguments: the memfd's number, which the child inherits.
  template <class Archive>
  void save(Archive& archive) const {
    auto* fds = detail::inherited_fds();
    if (fds == nullptr) {
      throw std::logic_error("a proc::queue can only be passed to a proc::process (by inheritance), "
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
