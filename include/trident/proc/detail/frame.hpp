#pragma once
/// @file
/// The worker channel's wire format: length-prefixed frames on a Unix stream socket. Internal.
///
/// A frame is a 24-byte header followed by `size` payload bytes:
///   u32 magic 'TRD1' | u8 kind | u8 flags | u16 attachments | u64 id | u64 size   (host byte
///   order: both ends are the same binary on the same machine)
/// With `flag_shm`, the payload is not inline: it sits in a memfd passed with SCM_RIGHTS on the
/// same socket, attached to the frame's first byte, and `size` is its length. Payloads of
/// `shm_threshold` bytes or more travel that way (one copy in, mapped on the other side), so
/// nothing is ever created under /dev/shm and nothing outlives the two processes. A `flag_shm`
/// frame may bring `attachments` more descriptors in the same message, after the payload's:
/// the `shared_bytes` among a task's arguments (attachments.hpp). Other frames have none.
/// With `flag_arena` (task ring entries only, channel_ring.hpp), the payload is 16 bytes, u64
/// offset | u64 length, naming where the real payload sits in the pool's payload arena
/// (payload_arena.hpp), which the worker has mapped.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace trident::proc::detail {

enum class frame_kind : std::uint8_t {
  hello = 1,        ///< worker -> parent, first frame: id = worker pid.
  task = 2,         ///< parent -> worker: payload = u32 name length, name, encoded arguments.
  chunk = 3,        ///< like `task`, arguments are a vector of argument tuples.
  result = 4,       ///< worker -> parent: encoded result of task `id`.
  error = 5,        ///< worker -> parent: encoded (type name, message) of the exception of task `id`.
  retire = 6,       ///< parent -> worker: exit after the tasks already sent.
  trace_on = 7,     ///< parent -> worker, only while the parent traces: record a span per task;
                    ///< id = the worker's number in its pool (its lane is named after it).
  trace_spans = 8,  ///< worker -> parent, before a task's result: the spans recorded since the
                    ///< last such frame, packed by `trace::take_spans_for_parent`.
  channel = 9,      ///< parent -> pool worker, with a descriptor (`flag_shm`, not mapped): id 0 the
                    ///< shared-memory channel (size: its length, channel_ring.hpp), id 1 the
                    ///< eventfd that wakes the worker, id 2 the eventfd that wakes the pool,
                    ///< id 3 (later, when first needed) the pool's payload arena.
};

inline constexpr std::uint32_t frame_magic = 0x31445254;  // "TRD1"
inline constexpr std::size_t frame_header_size = 24;
inline constexpr std::uint8_t flag_shm = 1;
inline constexpr std::uint8_t flag_arena = 2;
inline constexpr std::size_t arena_reference_size = 16;
inline constexpr std::size_t shm_threshold = 64 * 1024;
/// Inline payloads are bounded; anything larger must come as a memfd (a size above this in an
/// inline frame means the stream is corrupt, not that a gigantic frame is on its way).
inline constexpr std::uint64_t max_inline_payload = shm_threshold;
inline constexpr std::uint64_t max_shm_payload = std::uint64_t{1} << 40;
/// Descriptors one frame may bring beside its payload's (SCM_MAX_FD is 253 per message).
inline constexpr std::size_t max_attachments = 252;

/// A read-only mapping of a received memfd; unmapped when destroyed.
class shm_mapping {
 public:
  shm_mapping(int fd, std::size_t size);  ///< Maps `fd` (which the caller still closes).
  shm_mapping(const shm_mapping&) = delete;
  shm_mapping& operator=(const shm_mapping&) = delete;
  ~shm_mapping();
  [[nodiscard]] std::string_view bytes() const noexcept { return {static_cast<const char*>(addr_), size_}; }

 private:
  void* addr_ = nullptr;
  std::size_t size_ = 0;
};

/// A descriptor that closes itself. Move-only.
class owned_fd {
 public:
  owned_fd() = default;
  explicit owned_fd(int fd) noexcept : fd_(fd) {}
  owned_fd(owned_fd&& o) noexcept : fd_(o.release()) {}
  owned_fd& operator=(owned_fd&& o) noexcept;
  owned_fd(const owned_fd&) = delete;
  owned_fd& operator=(const owned_fd&) = delete;
  ~owned_fd();
  [[nodiscard]] int get() const noexcept { return fd_; }
  int release() noexcept {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

/// One decoded frame. `payload` points into the reader's buffer (valid until the reader's next
/// `prepare`), into `mapping`, or into a ring (channel_ring.hpp).
struct frame {
  frame_kind kind{};
  std::uint64_t id = 0;
  std::string_view payload;
  std::unique_ptr<shm_mapping> mapping;
  owned_fd descriptor;                ///< A `channel` frame's descriptor.
  std::vector<owned_fd> attachments;  ///< Descriptors that came with a `flag_shm` payload.
  bool on_socket = false;             ///< A ring entry whose payload is the next memfd frame on the socket.
  bool in_arena = false;              ///< A ring entry whose payload is (offset, length) in the payload arena.
};

/// Splits a byte stream (plus the descriptors that came with it) into frames.
///
/// Thread safety: none; one reader per channel end, used by one thread.
class frame_reader {
 public:
  frame_reader() = default;
  frame_reader(const frame_reader&) = delete;
  frame_reader& operator=(const frame_reader&) = delete;
  ~frame_reader();

  /// Room for at least `min` more bytes; invalidates payload views of frames returned earlier.
  char* prepare(std::size_t min, std::size_t& room);
  /// `n` bytes were written at the pointer `prepare` returned.
  void commit(std::size_t n) noexcept { end_ += n; }
  /// Feeds bytes (tests and fuzzing: prepare + copy + commit).
  void feed(std::string_view bytes);
  /// A descriptor received with the bytes; the reader owns it from now on.
  void push_fd(int fd) { fds_.push_back(fd); }

  /// The next complete frame, or nullopt if more bytes are needed. Throws `protocol_error`
  /// if the bytes cannot be a frame; the reader is unusable afterwards.
  std::optional<frame> next();

  /// Bytes received but not yet returned as frames (a peer that closed mid-frame leaves some).
  [[nodiscard]] std::size_t buffered() const noexcept { return end_ - begin_; }

 private:
  std::vector<char> buf_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::deque<int> fds_;
};

/// Appends one inline frame to `out`. Assumes `payload.size() <= max_inline_payload`.
void append_frame(std::string& out, frame_kind kind, std::uint64_t id, std::string_view payload);
/// Appends a frame header whose payload will be the memfd sent alongside.
void append_shm_header(std::string& out, frame_kind kind, std::uint64_t id, std::uint64_t size);
/// A sealed-off memfd holding `payload` (close-on-exec). Throws std::system_error.
[[nodiscard]] int make_payload_fd(std::string_view payload);

/// The bytes and descriptors waiting to go out on one channel end, sent with `sendmsg`.
class frame_writer {
 public:
  frame_writer() = default;
  frame_writer(const frame_writer&) = delete;
  frame_writer& operator=(const frame_writer&) = delete;
  ~frame_writer();

  /// Queues a frame; a large payload goes into a memfd.
  void add(frame_kind kind, std::uint64_t id, std::string_view payload);
  /// Queues a frame whose payload is already in memfd `fd` of `size` bytes (ownership passes).
  void add_fd(frame_kind kind, std::uint64_t id, int fd, std::uint64_t size);
  /// Like `add_fd`, with `attachments` (owned: closed once sent) after the payload's descriptor.
  /// Throws std::length_error for more than `max_attachments`.
  void add_fd(frame_kind kind, std::uint64_t id, int fd, std::uint64_t size, std::vector<int> attachments);
  /// Like `add_fd`, but the caller keeps `fd` (a copy is sent), so the payload can be resent.
  void add_shared_fd(frame_kind kind, std::uint64_t id, int fd, std::uint64_t size);
  [[nodiscard]] bool empty() const noexcept { return chunks_.empty(); }
  /// Sends what the socket takes without blocking (or all of it, on a blocking socket). Returns
  /// false if the peer is gone (EPIPE, ECONNRESET); throws std::system_error on other errors.
  bool flush(int socket);

 private:
  struct chunk {
    std::string data;
    std::vector<int> fds;  ///< Sent with the first byte of `data`: a payload, then attachments.
    std::size_t sent = 0;
  };
  chunk& open_chunk();
  std::deque<chunk> chunks_;
};

/// Reads what is available from `socket` into `reader` (descriptors included). Returns the
/// number of bytes read; 0 means the peer closed; -1 means nothing available (EAGAIN).
long read_into(int socket, frame_reader& reader);

}  // namespace trident::proc::detail
