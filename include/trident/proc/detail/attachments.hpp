#pragma once
/// @file
/// Descriptors that travel beside a task's encoded arguments: how `shared_bytes` crosses to a
/// pool worker without a copy. Internal.
///
/// Encoding (the caller's thread, inside `process_pool::submit` and friends): an
/// `attachment_sink::scope` makes a sink current on the thread; each `shared_bytes` the codec
/// meets asks it for a copy of its descriptor (`detail::attach_descriptor`) and encodes only the
/// index. The job then owns the copies and sends them with its payload (frame.hpp, SCM_RIGHTS).
/// Decoding (the worker): an `attachment_source::scope` makes the frame's descriptors current
/// while the task's arguments are decoded; `map_attached_bytes` maps the one at an index.
/// Nested scopes restore the outer one. Without a scope, `shared_bytes` travels by value.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace trident::proc::detail {

/// Copies of descriptors collected while one message is encoded.
///
/// Thread safety: one thread; the scope makes it that thread's current sink.
class attachment_sink {
 public:
  attachment_sink() = default;
  /// `count_only`: takes no copies, only counts the descriptors (to learn whether a message
  /// has any before encoding it for real).
  explicit attachment_sink(bool count_only) noexcept : count_only_(count_only) {}
  attachment_sink(const attachment_sink&) = delete;
  attachment_sink& operator=(const attachment_sink&) = delete;
  ~attachment_sink();  ///< Closes the copies nobody took.

  /// Takes a copy of `fd` (close-on-exec) and returns its index; nullopt once the sink holds
  /// `max_shared_per_message`. Throws std::system_error if `fd` cannot be copied.
  std::optional<std::uint32_t> add(int fd);
  /// The copies, in index order; the caller owns (closes) them.
  [[nodiscard]] std::vector<int> take() noexcept;
  /// How many descriptors were added (taken or, with `count_only`, counted).
  [[nodiscard]] std::size_t added() const noexcept { return count_only_ ? counted_ : fds_.size(); }

  class scope {
   public:
    explicit scope(attachment_sink& sink) noexcept;
    scope(const scope&) = delete;
    scope& operator=(const scope&) = delete;
    ~scope();

   private:
    attachment_sink* outer_;
  };

 private:
  std::vector<int> fds_;
  bool count_only_ = false;
  std::size_t counted_ = 0;
};

/// The descriptors that came with one task frame, for decoding its arguments. Does not own them.
class attachment_source {
 public:
  explicit attachment_source(std::span<const int> fds) noexcept : fds_(fds) {}

  class scope {
   public:
    explicit scope(const attachment_source& source) noexcept;
    scope(const scope&) = delete;
    scope& operator=(const scope&) = delete;
    ~scope();

   private:
    const attachment_source* outer_;
  };

  [[nodiscard]] std::span<const int> descriptors() const noexcept { return fds_; }

 private:
  std::span<const int> fds_;
};

/// The thread's current sink, or nullptr.
[[nodiscard]] attachment_sink* current_attachment_sink() noexcept;
/// The thread's current source, or nullptr.
[[nodiscard]] const attachment_source* current_attachment_source() noexcept;

}  // namespace trident::proc::detail
