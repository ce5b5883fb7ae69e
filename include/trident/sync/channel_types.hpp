#pragma once
/// @file
/// Results and statistics shared by `channel<T>` and `priority_channel<T>`.

#include <cstddef>
#include <optional>
#include <ostream>
#include <string_view>
#include <utility>

namespace trident::sync {

/// How a non-throwing send ended. On anything but `ok` the value was not taken: the caller
/// still owns it, unchanged.
enum class send_status : unsigned char {
  ok,       ///< the value is in the channel or was handed to a receiver
  full,     ///< `try_send` only: no room and nobody waiting to receive
  closed,   ///< the channel is closed
  timeout,  ///< the deadline passed while the channel stayed full
};

/// How a non-throwing receive ended.
enum class receive_status : unsigned char {
  ok,       ///< a value was received
  empty,    ///< `try_receive` only: nothing buffered, channel still open
  closed,   ///< the channel is closed and drained: no value will ever come
  timeout,  ///< the deadline passed while the channel stayed empty
};

[[nodiscard]] constexpr std::string_view to_string(send_status s) noexcept {
  switch (s) {
    case send_status::ok:
      return "ok";
    case send_status::full:
      return "full";
    case send_status::closed:
      return "closed";
    case send_status::timeout:
      return "timeout";
  }
  return "?";
}

[[nodiscard]] constexpr std::string_view to_string(receive_status s) noexcept {
  switch (s) {
    case receive_status::ok:
      return "ok";
    case receive_status::empty:
      return "empty";
    case receive_status::closed:
      return "closed";
    case receive_status::timeout:
      return "timeout";
  }
  return "?";
}

inline std::ostream& operator<<(std::ostream& os, send_status s) { return os << to_string(s); }
inline std::ostream& operator<<(std::ostream& os, receive_status s) { return os << to_string(s); }

/// The value of a non-throwing receive together with why there is none. Converts to `true`
/// exactly when `status == receive_status::ok`, and then holds the value.
///
/// @code
/// if (auto r = ch.receive_for(100ms)) use(*r);
/// else if (r.status == trident::sync::receive_status::closed) return;
/// @endcode
template <class T>
struct receive_result {
  receive_status status = receive_status::empty;
  std::optional<T> value;

  [[nodiscard]] explicit operator bool() const noexcept { return status == receive_status::ok; }
  [[nodiscard]] bool has_value() const noexcept { return value.has_value(); }
  /// Precondition: `has_value()`.
  [[nodiscard]] T& operator*() & noexcept { return *value; }
  [[nodiscard]] const T& operator*() const& noexcept { return *value; }
  [[nodiscard]] T&& operator*() && noexcept { return std::move(*value); }
  [[nodiscard]] T* operator->() noexcept { return &*value; }
  [[nodiscard]] const T* operator->() const noexcept { return &*value; }
};

/// A snapshot of a channel's counters (Trio's `statistics()`).
struct channel_statistics {
  std::size_t sent = 0;               ///< values accepted by the channel since it was made
  std::size_t received = 0;           ///< values handed to receivers since it was made
  std::size_t blocked_senders = 0;    ///< senders waiting for room right now
  std::size_t blocked_receivers = 0;  ///< receivers waiting for a value right now
  std::size_t size = 0;               ///< values buffered right now
  std::size_t capacity = 0;
  bool closed = false;
};

}  // namespace trident::sync

// This header's names under their 0.1 spelling, directly in `trident::`: deprecated until 0.3.
#define TRIDENT_SYNC_CHANNEL_TYPES_HPP
#include "trident/sync/deprecated_names.hpp"
