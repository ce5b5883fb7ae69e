#pragma once
/// @file
/// The codec for task arguments and results: cereal's binary archive (see docs/proc.md for why
/// cereal). Standard containers, strings, numbers, tuples, pairs, optionals and variants work
/// out of the box; a user struct opts in with one line, `TRIDENT_SERIALIZABLE(field, ...)`.
/// A type the codec cannot handle fails to compile at the `submit`, not at run time.
///
/// Thread safety: every function here may be called from any thread at once (each thread
/// encodes through its own stream). Nothing here blocks or can be cancelled.

#include <cereal/archives/binary.hpp>
#include <cereal/types/array.hpp>
#include <cereal/types/chrono.hpp>
#include <cereal/types/deque.hpp>
#include <cereal/types/list.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/set.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/tuple.hpp>
#include <cereal/types/unordered_map.hpp>
#include <cereal/types/unordered_set.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/variant.hpp>
#include <cereal/types/vector.hpp>

#include <cstddef>
#include <istream>
#include <optional>
#include <ostream>
#include <sstream>
#include <streambuf>
#include <string>
#include <string_view>
#include <type_traits>

#include "trident/proc/errors.hpp"

/// Inside a struct or class: makes its listed members serializable, so values of the type can
/// be task arguments and results, and travel through `proc::queue`.
/// @code
///   struct point { double x, y; std::string label; TRIDENT_SERIALIZABLE(x, y, label) };
/// @endcode
#define TRIDENT_SERIALIZABLE(...)           \
  template <class TridentArchive>           \
  void serialize(TridentArchive& archive) { \
    archive(__VA_ARGS__);                   \
  }

namespace trident::proc {

/// Whether values of `T` can cross a process boundary through the codec.
template <class T>
inline constexpr bool is_serializable_v =
    std::is_void_v<T> || (cereal::traits::is_output_serializable<T, cereal::BinaryOutputArchive>::value &&
                          cereal::traits::is_input_serializable<T, cereal::BinaryInputArchive>::value);

namespace detail {

/// A read-only streambuf over bytes owned elsewhere (no copy into a stringstream).
class view_buf : public std::streambuf {
 public:
  explicit view_buf(std::string_view bytes) {
    char* p = const_cast<char*>(bytes.data());
    setg(p, p, p + bytes.size());
  }
  /// The bytes not read yet.
  [[nodiscard]] std::string_view unread() const noexcept {
    return {gptr(), static_cast<std::size_t>(egptr() - gptr())};
  }
  /// Marks `n` more bytes read. Assumes `n <= unread().size()`.
  void skip(std::size_t n) noexcept { setg(eback(), gptr() + n, egptr()); }
};

/// The archive `decode` reads on this thread and the bytes under it, so that a `std::string`
/// is copied straight out of them (cereal's own load resizes it first, which zeroes it: a
/// second pass over a large argument). Nested decodes restore the outer one.
struct direct_source {
  const cereal::BinaryInputArchive* archive = nullptr;
  view_buf* bytes = nullptr;
};
inline direct_source& current_direct_source() noexcept {
  thread_local direct_source source;
  return source;
}

/// Makes (archive, bytes) the thread's direct source while it lives; restores the outer one.
class direct_source_scope {
 public:
  direct_source_scope(const cereal::BinaryInputArchive& archive, view_buf& bytes) noexcept
      : outer_(current_direct_source()) {
    current_direct_source() = {&archive, &bytes};
  }
  direct_source_scope(const direct_source_scope&) = delete;
  direct_source_scope& operator=(const direct_source_scope&) = delete;
  ~direct_source_scope() { current_direct_source() = outer_; }

 private:
  direct_source outer_;
};

/// Appends to a std::string without the stringstream's own copy.
class string_sink : public std::streambuf {
 public:
  explicit string_sink(std::string& out) : out_(out) {}

 protected:
  int_type overflow(int_type ch) override {
    if (ch != traits_type::eof()) out_.push_back(static_cast<char>(ch));
    return ch;
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    out_.append(s, static_cast<std::size_t>(n));
    return n;
  }

 private:
  std::string& out_;
};

/// Writes into a fixed buffer; refuses (returns short) past its end, which cereal reports.
class fixed_sink : public std::streambuf {
 public:
  fixed_sink(char* dst, std::size_t room) { setp(dst, dst + room); }
  [[nodiscard]] std::size_t written() const noexcept { return static_cast<std::size_t>(pptr() - pbase()); }
};

/// Counts what would be written, writing nothing: the size of an encoding without making it.
class counting_sink : public std::streambuf {
 public:
  [[nodiscard]] std::size_t counted() const noexcept { return n_; }

 protected:
  int_type overflow(int_type ch) override {
    if (ch != traits_type::eof()) ++n_;
    return ch;
  }
  std::streamsize xsputn(const char*, std::streamsize n) override {
    n_ += static_cast<std::size_t>(n);
    return n;
  }

 private:
  std::size_t n_ = 0;
};

/// A stream per thread, pointed at a new buffer per call: constructing a std::ostream or
/// std::istream looks up locale facets (dynamic_casts), which costs more than encoding an int.
/// A nested use (a serialize() that encodes something itself) gets a stream of its own.
template <class Stream>
class stream_lease {
 public:
  explicit stream_lease(std::streambuf* buf) {
    if (busy()) {
      own_.emplace(buf);
      stream_ = &*own_;
    } else {
      busy() = true;
      stream_ = &cached();
      stream_->rdbuf(buf);  // also clears the error state
    }
  }
  stream_lease(const stream_lease&) = delete;
  stream_lease& operator=(const stream_lease&) = delete;
  ~stream_lease() {
    if (!own_) {
      stream_->rdbuf(nullptr);
      busy() = false;
    }
  }
  Stream& get() noexcept { return *stream_; }

 private:
  static Stream& cached() {
    thread_local Stream stream(nullptr);
    return stream;
  }
  static bool& busy() {
    thread_local bool flag = false;
    return flag;
  }
  Stream* stream_ = nullptr;
  std::optional<Stream> own_;
};

}  // namespace detail

}  // namespace trident::proc

namespace cereal {
/// Every length prefix (the element count of a string, vector, map, set, deque or list) read by
/// the archive `trident::proc::decode` reads is checked against the bytes the message still
/// holds before cereal sizes a container with it: each element takes at least one byte, so a
/// count above the bytes left cannot be a valid encoding. cereal itself trusts the count and
/// resizes first, so a hostile 64-bit length would make the reader allocate (and construct)
/// whatever it says; with this check a decode allocates at most one element per byte of its
/// message. (A container of elements that encode to nothing, such as `std::tuple<>`, longer
/// than the bytes after it is refused too.) Other binary archives read as cereal does.
inline void serialize(BinaryInputArchive& archive, SizeTag<size_type&>& tag) {
  archive(tag.size);
  const auto& source = trident::proc::detail::current_direct_source();
  if (source.archive == &archive && tag.size > source.bytes->unread().size()) {
    throw Exception("a length of " + std::to_string(tag.size) + " elements, but only " +
                    std::to_string(source.bytes->unread().size()) + " bytes are left in the message");
  }
}

/// A `bool` (a value, or the flag in front of an optional) is one byte, 0 or 1: from the archive
/// `trident::proc::decode` reads, any other byte is refused (cereal would copy it into the bool,
/// an object no bool may hold: undefined behaviour); from any other binary archive, a nonzero
/// byte is true.
inline void load(BinaryInputArchive& archive, bool& value) {
  static_assert(sizeof(bool) == 1, "a bool travels as one byte");
  unsigned char byte = 0;
  archive.loadBinary(&byte, 1);
  if (byte > 1 && trident::proc::detail::current_direct_source().archive == &archive) {
    throw Exception("a bool of byte value " + std::to_string(byte) + ", neither 0 nor 1");
  }
  value = byte != 0;
}

/// `std::string` from the archive `trident::proc::decode` reads: one copy out of the message,
/// with no zeroing first; from any other binary archive, as cereal does it. Same encoding.
inline void load(BinaryInputArchive& archive, std::string& str) {
  size_type size = 0;
  archive(make_size_tag(size));
  auto& source = trident::proc::detail::current_direct_source();
  if (source.archive == &archive) {
    const std::string_view unread = source.bytes->unread();
    if (size > unread.size()) {
      throw Exception("Failed to read " + std::to_string(size) + " bytes from input stream! Read " +
                      std::to_string(unread.size()));
    }
    str.assign(unread.data(), static_cast<std::size_t>(size));
    source.bytes->skip(static_cast<std::size_t>(size));
    return;
  }
  str.resize(static_cast<std::size_t>(size));
  archive(binary_data(str.data(), static_cast<std::size_t>(size)));
}
}  // namespace cereal

namespace trident::proc {

/// Appends the encoding of `values...` to `out`.
template <class... T>
void encode_into(std::string& out, const T&... values) {
  static_assert((is_serializable_v<T> && ...),
                "trident::proc: this type cannot cross a process boundary; give it a serialize() "
                "member, e.g. TRIDENT_SERIALIZABLE(field1, field2), or use standard types");
  detail::string_sink sink(out);
  detail::stream_lease<std::ostream> stream(&sink);
  cereal::BinaryOutputArchive archive(stream.get());
  archive(values...);
}

namespace detail {
/// Encodes `value` into `dst` (at most `room` bytes) and returns its length; throws
/// std::length_error if it does not fit.
template <class T>
std::size_t encode_into_buffer(char* dst, std::size_t room, const T& value) {
  static_assert(is_serializable_v<T>,
                "trident::proc: this type cannot cross a process boundary; give it a serialize() "
                "member, e.g. TRIDENT_SERIALIZABLE(field1, field2), or use standard types");
  fixed_sink sink(dst, room);
  stream_lease<std::ostream> stream(&sink);
  try {
    cereal::BinaryOutputArchive archive(stream.get());
    archive(value);
  } catch (const cereal::Exception&) {
    throw std::length_error("proc::queue: encoded message exceeds the queue's slot size of " + std::to_string(room) +
                            " bytes");
  }
  return sink.written();
}
}  // namespace detail

namespace detail {
/// The length of the encoding of `values...` (what `encode_into` would append), made by walking
/// the values without copying their bytes.
template <class... T>
std::size_t encoded_size(const T&... values) {
  counting_sink sink;
  stream_lease<std::ostream> stream(&sink);
  cereal::BinaryOutputArchive archive(stream.get());
  archive(values...);
  return sink.counted();
}

/// Encodes `values...` into exactly `room` bytes at `dst`; false if the encoding is not exactly
/// that long (a value whose encoding changed since `encoded_size` measured it).
template <class... T>
bool encode_exactly(char* dst, std::size_t room, const T&... values) {
  fixed_sink sink(dst, room);
  stream_lease<std::ostream> stream(&sink);
  try {
    cereal::BinaryOutputArchive archive(stream.get());
    archive(values...);
  } catch (const cereal::Exception&) {
    return false;
  }
  return sink.written() == room;
}
}  // namespace detail

/// The encoding of `value`.
template <class T>
std::string encode(const T& value) {
  std::string out;
  encode_into(out, value);
  return out;
}

/// Decodes a `T` from `bytes`. Throws `protocol_error` if the bytes are not a valid encoding
/// (too short, or a length that runs past the end); no length in `bytes` is trusted further than
/// the bytes that follow it (see the `SizeTag` load above), so hostile bytes cannot make it
/// allocate more than about `sizeof(element) * bytes.size()`.
template <class T>
std::remove_cv_t<T> decode(std::string_view bytes) {
  static_assert(is_serializable_v<std::remove_cv_t<T>>,
                "trident::proc: this type cannot cross a process boundary; give it a serialize() "
                "member, e.g. TRIDENT_SERIALIZABLE(field1, field2), or use standard types");
  detail::view_buf buf(bytes);
  detail::stream_lease<std::istream> stream(&buf);
  std::remove_cv_t<T> value{};
  try {
    cereal::BinaryInputArchive archive(stream.get());
    const detail::direct_source_scope reading(archive, buf);
    archive(value);
  } catch (const cereal::Exception& e) {
    throw protocol_error(std::string("cannot decode value: ") + e.what());
  } catch (const std::length_error& e) {
    throw protocol_error(std::string("cannot decode value: ") + e.what());
  } catch (const std::bad_alloc&) {
    throw protocol_error("cannot decode value: a length field asks for more memory than exists");
  }
  return value;
}

}  // namespace trident::proc
