#pragma once
/// @file
/// `proc::shared_bytes`: a block of bytes in shared memory that a process-pool task receives
/// without a copy (Python's `multiprocessing.shared_memory`, passed as an ordinary argument).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <cereal/cereal.hpp>

#include "trident/proc/errors.hpp"

namespace trident::proc {

class shared_bytes;

namespace detail {
/// In a worker decoding a task: the block behind the task's descriptor `index`, mapped. Throws
/// `protocol_error` if there is no such descriptor or its file is shorter than `size`.
shared_bytes map_attached_bytes(std::uint32_t index, std::uint64_t size);
}  // namespace detail

/// Bytes in an anonymous shared-memory file (a memfd), owned like a `std::shared_ptr`: copies
/// share the same bytes, and the memory is freed when the last copy, in any process, is gone.
///
/// As an argument of `process_pool::submit`, `map` and the rest, the bytes are not copied: the
/// task receives a `shared_bytes` mapping the *same* memory (the file travels to the worker as
/// a descriptor), whatever the size. So a task may also write its output into an argument and
/// the caller sees it once the task's future is ready. Everywhere else the codec goes (a
/// `proc::queue`, a task's result, a cluster rank on another machine) it travels by value: its
/// bytes are copied into the message, as a `std::vector<std::byte>` would be. One task or chunk
/// shares at most `max_shared_per_message` blocks; further ones in the same message go by value.
///
/// @par Thread safety
/// Like `std::shared_ptr`: different copies may be used on different threads at once; the
/// bytes themselves are plain memory, so concurrent writes to them (from threads or from a task
/// in a worker) need the user's own synchronisation. Nothing here blocks or can be cancelled.
///
/// @code
///   proc::shared_bytes frame(1 << 20);
///   fill(frame.bytes());
///   std::size_t edges = pool.submit(count_edges, frame).get();  // no copy of the MiB
/// @endcode
class shared_bytes {
 public:
  /// No bytes (size 0, no memory file).
  shared_bytes() noexcept = default;
  /// `size` zero bytes in a new memory file. Throws std::system_error if it cannot be made.
  explicit shared_bytes(std::size_t size);
  /// A new block holding a copy of `bytes`.
  static shared_bytes copy_of(std::span<const std::byte> bytes);
  static shared_bytes copy_of(std::string_view bytes);

  [[nodiscard]] std::byte* data() noexcept;
  [[nodiscard]] const std::byte* data() const noexcept;
  [[nodiscard]] std::size_t size() const noexcept;
  [[nodiscard]] bool empty() const noexcept { return size() == 0; }
  [[nodiscard]] std::span<std::byte> bytes() noexcept { return {data(), size()}; }
  [[nodiscard]] std::span<const std::byte> bytes() const noexcept { return {data(), size()}; }
  /// The bytes as characters.
  [[nodiscard]] std::string_view view() const noexcept { return {reinterpret_cast<const char*>(data()), size()}; }
  /// Whether `a` and `b` are the same memory (not merely equal bytes).
  friend bool same_memory(const shared_bytes& a, const shared_bytes& b) noexcept { return a.block_ == b.block_; }

  /// Codec hooks (cereal). Shared by descriptor while a process pool encodes a task's
  /// arguments, by value otherwise.
  template <class Archive>
  void save(Archive& archive) const;
  template <class Archive>
  void load(Archive& archive);

  struct block;

 private:
  explicit shared_bytes(std::shared_ptr<block> b) noexcept : block_(std::move(b)) {}
  friend shared_bytes detail::map_attached_bytes(std::uint32_t index, std::uint64_t size);
  [[nodiscard]] int descriptor() const noexcept;

  std::shared_ptr<block> block_;
};

/// The most blocks one task or chunk shares by descriptor (the kernel passes at most 253
/// descriptors in one message, one of which carries the arguments themselves).
inline constexpr std::size_t max_shared_per_message = 250;

namespace detail {

/// While a process pool encodes a task's arguments: takes a copy of `fd` to send with the task
/// and returns its index among the task's descriptors; nullopt when nothing is collecting
/// descriptors on this thread (or the task already has `max_shared_per_message`). Throws
/// std::system_error if the descriptor cannot be copied.
std::optional<std::uint32_t> attach_descriptor(int fd);

}  // namespace detail

template <class Archive>
void shared_bytes::save(Archive& archive) const {
  const auto n = static_cast<std::uint64_t>(size());
  if (n > 0) {
    if (const auto index = detail::attach_descriptor(descriptor())) {
      archive(std::uint8_t{1}, *index, n);
      return;
    }
  }
  archive(std::uint8_t{0}, n);
  if (n > 0) archive(cereal::binary_data(data(), size()));
}

template <class Archive>
void shared_bytes::load(Archive& archive) {
  std::uint8_t how = 0;
  archive(how);
  if (how == 1) {
    std::uint32_t index = 0;
    std::uint64_t n = 0;
    archive(index, n);
    *this = detail::map_attached_bytes(index, n);
    return;
  }
  if (how != 0) throw protocol_error("shared_bytes: unknown encoding " + std::to_string(how));
  std::uint64_t n = 0;
  archive(n);
  shared_bytes fresh(static_cast<std::size_t>(n));
  if (n > 0) archive(cereal::binary_data(fresh.data(), fresh.size()));
  *this = std::move(fresh);
}

}  // namespace trident::proc
