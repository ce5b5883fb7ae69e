#pragma once
/// @file
/// A pool worker's shared-memory channel: two single-producer single-consumer byte rings in
/// one memfd (tasks: pool -> worker; results: worker -> pool), so that a task and its result
/// cross without a system call while both sides are awake. Internal.
///
/// Layout of the memfd: a control page (`channel_control`: each index, flag and word on a cache
/// line of its own), then the task ring, then the result ring (`ring_capacity` bytes each).
/// Entries are frames in the socket's encoding (frame.hpp: 24-byte header, then the payload),
/// each padded to 8 bytes. An entry never wraps: when one does not fit before the end, the
/// writer leaves a pad entry (kind 0) or, with under a header's room left, nothing, and the
/// reader skips to the start. An entry with `flag_shm` carries no payload: its payload is the
/// next frame on the socket (a memfd frame), so large payloads keep their memfd route and their
/// place in the order. An entry with `flag_arena` carries (offset, length) of its payload in the
/// pool's payload arena (payload_arena.hpp) instead of the payload.
///
/// Publication: the writer copies many entries, then stores the tail once (release); the reader
/// loads the tail (acquire), reads, and stores its head once it no longer needs the bytes. A
/// writer killed mid-entry never published it, so the reader never sees half an entry; bytes
/// that do not make a frame (a corrupt or hostile peer) throw `protocol_error`.
///
/// Sleeping: a consumer with nothing to read sets its `*_sleeping` flag, re-checks, and sleeps
/// on its eventfd; a producer that published checks the flag after a full fence and writes the
/// eventfd only if it was set (Dekker: one side or the other sees the other's store).
///
/// Thread safety: a ring_writer and a ring_reader each belong to one thread at a time; the two
/// ends of a ring run concurrently, in different processes.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "trident/proc/detail/frame.hpp"

namespace trident::proc::detail {

/// The control page at the start of a channel memfd. Every field is lock-free and address-free,
/// so it works across processes.
struct channel_control {
  alignas(64) std::atomic<std::uint64_t> task_tail{0};        ///< Written by the pool.
  alignas(64) std::atomic<std::uint64_t> task_head{0};        ///< Written by the worker.
  alignas(64) std::atomic<std::uint64_t> result_tail{0};      ///< Written by the worker.
  alignas(64) std::atomic<std::uint64_t> result_head{0};      ///< Written by the pool.
  alignas(64) std::atomic<std::uint32_t> worker_sleeping{0};  ///< The worker sleeps: wake it.
  alignas(64) std::atomic<std::uint32_t> pool_sleeping{0};    ///< The pool's I/O thread sleeps.
  /// The id of the task the worker is running (0: none yet), stored before it starts the task,
  /// and since when (steady clock, ns; the same clock in every process of the machine).
  alignas(64) std::atomic<std::uint64_t> running_task{0};
  std::atomic<std::uint64_t> running_since_ns{0};
  /// How long the worker spins for a task before it sleeps (ns), set by the pool.
  alignas(64) std::atomic<std::uint64_t> worker_spin_ns{0};
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free && std::atomic<std::uint32_t>::is_always_lock_free);

/// Bytes of each ring: room for many small frames and at least one inline frame of the largest size.
inline constexpr std::size_t ring_capacity = std::size_t{1} << 20;
inline constexpr std::size_t channel_control_size = 4096;
inline constexpr std::size_t channel_size = channel_control_size + 2 * ring_capacity;
static_assert(sizeof(channel_control) <= channel_control_size);
static_assert(ring_capacity >= 2 * (frame_header_size + max_inline_payload));

/// How long a worker with no task spins before it sleeps, and how long the pool's I/O thread
/// spins for results while tasks are in flight before it sleeps in epoll, when spinning is on
/// (`spin_budget_ns`).
inline constexpr std::uint64_t spin_ns = 40'000;
/// The most `TRIDENT_POOL_SPIN_NS` may ask for.
inline constexpr std::uint64_t max_spin_ns = 1'000'000;

/// The spin budget of a pool of `workers` processes: the environment variable
/// `TRIDENT_POOL_SPIN_NS` if set (at most `max_spin_ns`); otherwise `spin_ns` when the machine
/// has a core for each worker, the I/O thread and one caller, and 0 where it has fewer, since a
/// spinning thread would take the core that the thread it waits for needs.
std::uint64_t spin_budget_ns(std::size_t workers) noexcept;

/// A pause instruction: tells the core this is a spin loop.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#else
  std::atomic_signal_fence(std::memory_order_seq_cst);
#endif
}

/// Monotonic nanoseconds (steady clock).
std::uint64_t steady_ns() noexcept;

/// The producing end of one ring.
class ring_writer {
 public:
  ring_writer() = default;
  ring_writer(char* data, std::atomic<std::uint64_t>* head, std::atomic<std::uint64_t>* tail) noexcept;

  /// Copies one frame in, unpublished, if there is room for it with `reserve` bytes to spare.
  /// `on_socket`: an entry without payload whose payload is the next memfd frame on the socket.
  /// Assumes `payload.size() <= max_inline_payload`.
  bool try_add(frame_kind kind, std::uint64_t id, std::string_view payload, bool on_socket = false,
               std::size_t reserve = 0) noexcept;
  /// Like `try_add`, for a payload that sits at [offset, offset + length) of the payload arena.
  bool try_add_arena(frame_kind kind, std::uint64_t id, std::uint64_t offset, std::uint64_t length,
                     std::size_t reserve = 0) noexcept;
  /// Makes the frames added so far visible to the reader; returns whether there were any.
  bool publish() noexcept;
  /// Whether the reader has consumed everything published.
  [[nodiscard]] bool drained() const noexcept;
  /// Writes `bytes` as an entry and publishes it, bypassing the encoding (tests: a corrupt ring).
  void add_raw_for_testing(std::string_view bytes) noexcept;

 private:
  /// `flags`: 0, `flag_shm` (the payload is not copied in, only its length) or `flag_arena`.
  bool add(frame_kind kind, std::uint8_t flags, std::uint64_t id, std::string_view payload,
           std::size_t reserve) noexcept;

  char* data_ = nullptr;
  std::atomic<std::uint64_t>* head_ = nullptr;
  std::atomic<std::uint64_t>* tail_ = nullptr;
  std::uint64_t local_tail_ = 0;
  std::uint64_t published_ = 0;
  std::uint64_t head_cache_ = 0;
};

/// The consuming end of one ring.
class ring_reader {
 public:
  ring_reader() = default;
  ring_reader(const char* data, std::atomic<std::uint64_t>* head, std::atomic<std::uint64_t>* tail) noexcept;

  /// The next published frame, or nullopt. Its payload points into the ring and stays valid
  /// until `release`. An entry with `on_socket` set has no payload here; one with `in_arena` has
  /// its (offset, length) as payload. Throws `protocol_error`
  /// if the bytes are not a frame (the ring is unusable afterwards).
  std::optional<frame> next();
  /// Gives the bytes of every frame returned so far back to the writer.
  void release() noexcept;
  /// Whether nothing is published beyond what was read (one acquire load).
  [[nodiscard]] bool empty() const noexcept;

 private:
  const char* data_ = nullptr;
  std::atomic<std::uint64_t>* head_ = nullptr;
  std::atomic<std::uint64_t>* tail_ = nullptr;
  std::uint64_t local_head_ = 0;
  std::uint64_t tail_cache_ = 0;
};

/// A mapping of a channel memfd. Move-only; unmaps when destroyed.
class channel_memory {
 public:
  channel_memory() = default;
  /// Creates a zeroed channel memfd and maps it (the pool's side); the caller owns `fd_out`.
  static channel_memory create(int& fd_out);
  /// Maps a received channel memfd (the worker's side); the caller still closes `fd`. Throws
  /// `protocol_error` if it is not a channel (wrong size, cannot be mapped).
  static channel_memory attach(int fd);
  channel_memory(channel_memory&& other) noexcept;
  channel_memory& operator=(channel_memory&& other) noexcept;
  channel_memory(const channel_memory&) = delete;
  channel_memory& operator=(const channel_memory&) = delete;
  ~channel_memory();

  [[nodiscard]] bool mapped() const noexcept { return base_ != nullptr; }
  [[nodiscard]] channel_control& control() const noexcept { return *reinterpret_cast<channel_control*>(base_); }
  [[nodiscard]] ring_writer task_writer() const noexcept;
  [[nodiscard]] ring_reader task_reader() const noexcept;
  [[nodiscard]] ring_writer result_writer() const noexcept;
  [[nodiscard]] ring_reader result_reader() const noexcept;

 private:
  char* base_ = nullptr;
};

/// After publishing: a full fence, then, if the consumer said it sleeps, clears its flag and
/// writes 1 to its eventfd.
void wake_if_sleeping(std::atomic<std::uint32_t>& sleeping, int event_fd) noexcept;

/// Test hooks. While `hold_results_for_testing` is set, the pool's I/O thread leaves results in
/// the rings until their worker exits (so a test can kill a worker with finished results still
/// unread). `corrupt_result_ring_for_testing`, called from a task in a pool worker, publishes
/// bytes that are not a frame into its result ring.
extern std::atomic<bool> hold_results_for_testing;
void corrupt_result_ring_for_testing();

}  // namespace trident::proc::detail
