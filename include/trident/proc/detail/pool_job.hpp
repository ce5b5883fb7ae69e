#pragma once
/// @file
/// One unit of work on its way to a worker process: the promise-backed job of the low-level
/// interface (lowlevel/job.hpp) with what the pool keeps beside it, and how its arguments are
/// encoded. Internal.

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "trident/proc/codec.hpp"
#include "trident/proc/detail/attachments.hpp"
#include "trident/proc/detail/frame.hpp"
#include "trident/proc/detail/payload_arena.hpp"
#include "trident/proc/lowlevel/job.hpp"

namespace trident::proc::detail {

/// A job as the process pool carries it: the call (lowlevel/job.hpp) with what its payload
/// travels in. The pool's I/O thread owns it from `enqueue` until it completes or fails.
class pool_job : public lowlevel::job {
 public:
  using lowlevel::job::job;
  ~pool_job() override {
    if (payload_fd >= 0) ::close(payload_fd);
    for (int fd : attachment_fds) ::close(fd);
  }

  // `payload` (the base's) is empty once moved to `payload_fd` or `arena`.
  int payload_fd = -1;  ///< A memfd with the payload, for large arguments (kept for resends).
  /// The payload, for large arguments, in the pool's payload arena (kept for resends; freed
  /// with the job, once its worker no longer reads it).
  arena_slot arena;
  std::uint64_t payload_size = 0;
  /// Descriptors of the `shared_bytes` among the arguments, sent beside the payload (kept for
  /// resends); owned. A job with any goes as a memfd (`payload_fd`), the frame that carries them.
  std::vector<int> attachment_fds;
  bool claimed = false;  ///< Set by the I/O thread when it first sends the job.
};

/// The pool's job for a task returning `R` (a chunk: `std::vector<R>`).
template <class R>
using typed_job = lowlevel::promised_job<R, pool_job>;

/// The frame that carries a call of `kind` to a worker.
constexpr frame_kind frame_kind_of(lowlevel::call_kind kind) noexcept {
  return kind == lowlevel::call_kind::chunk ? frame_kind::chunk : frame_kind::task;
}

/// Appends `values...` encoded to the job's payload, its `shared_bytes` as descriptors the job
/// keeps (attachments.hpp).
template <class... T>
void encode_arguments(pool_job& job, const T&... values) {
  attachment_sink sink;
  {
    const attachment_sink::scope collecting(sink);
    encode_into(job.payload, values...);
  }
  job.attachment_fds = sink.take();
}

/// Moves a large payload, or one with descriptors beside it, into a memfd, so it crosses to the
/// worker without a pipe copy (and carries the descriptors). The route of large payloads that
/// find no room in the pool's arena (`encode_task_arguments`).
inline void spill_large_payload(pool_job& job) {
  job.payload_size = job.payload.size();
  if (job.payload.size() >= shm_threshold || !job.attachment_fds.empty()) {
    job.payload_fd = make_payload_fd(job.payload);
    std::string().swap(job.payload);
  }
}

/// Whether every value of `T` encodes in a few bytes (no length-prefixed data in it), so that a
/// payload of such values is never large and needs no size pass.
template <class T>
struct small_encoding : std::bool_constant<std::is_arithmetic_v<T> || std::is_enum_v<T>> {};
template <class... T>
struct small_encoding<std::tuple<T...>> : std::bool_constant<(small_encoding<T>::value && ...)> {};
template <class A, class B>
struct small_encoding<std::pair<A, B>> : std::bool_constant<small_encoding<A>::value && small_encoding<B>::value> {};

/// Encodes `values...` straight into a slot of `arena` after the name `job.payload` holds, if
/// they come to `shm_threshold` bytes or more, carry no `shared_bytes` and the arena has room:
/// the payload's one copy on this side. Returns false, leaving the job as it was, otherwise.
template <class... T>
bool try_encode_into_arena(pool_job& job, payload_arena& arena, const T&... values) {
  // The size pass also counts descriptors: a message with any travels as a memfd, which carries them.
  attachment_sink counter(true);
  std::size_t size;
  {
    const attachment_sink::scope counting(counter);
    size = job.payload.size() + encoded_size(values...);
  }
  if (counter.added() != 0 || size < shm_threshold) return false;
  arena_slot slot = arena.allocate(size);
  if (!slot) return false;
  const std::size_t head = job.payload.size();
  std::memcpy(slot.data(), job.payload.data(), head);
  attachment_sink recount(true);
  bool exact;
  {
    const attachment_sink::scope counting(recount);
    exact = encode_exactly(slot.data() + head, size - head, values...);
  }
  if (!exact || recount.added() != 0) return false;  // the slot goes back as `slot` is destroyed
  job.payload_size = size;
  std::string().swap(job.payload);
  job.arena = std::move(slot);
  return true;
}

/// Encodes a task's arguments after its name (`begin_payload`): large ones into a slot of the
/// pool's `arena` (null: the pool has none) if it has room, else into the job's payload, moved
/// to a memfd if large (`spill_large_payload`).
template <class... T>
void encode_task_arguments(pool_job& job, payload_arena* arena, const T&... values) {
  if constexpr (!(small_encoding<T>::value && ...)) {
    if (arena != nullptr && try_encode_into_arena(job, *arena, values...)) return;
  }
  encode_arguments(job, values...);
  spill_large_payload(job);
}

/// An argument as the task's parameter type `P` for encoding: the argument itself when it is a
/// `P` already (no copy of a large string), else a `P` made from it.
template <class P, class A>
decltype(auto) as_parameter(A&& a) {
  if constexpr (std::is_same_v<std::decay_t<A>, P>) {
    return static_cast<const P&>(a);
  } else {
    return P(std::forward<A>(a));
  }
}

}  // namespace trident::proc::detail
