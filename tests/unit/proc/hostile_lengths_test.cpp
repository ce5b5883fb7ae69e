// Decoding never trusts a length: a count in the bytes of a task, a result or a frame is checked
// against the bytes that are there before anything is sized with it, and frames have stated
// maxima. A hostile worker (or a task that writes its own result) fails its task with
// protocol_error; the parent allocates nothing the bytes do not hold and carries on.

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proc_test_support.hpp"
#include "trident/proc/codec.hpp"
#include "trident/proc/detail/frame.hpp"
#include "trident/proc/process_pool.hpp"

namespace {

using trident::proc::decode;
using trident::proc::encode;
using trident::proc::protocol_error;

/// A length prefix as cereal writes it (a 64-bit count), followed by `tail`.
std::string claiming(std::uint64_t count, std::string_view tail = {}) {
  std::string out(sizeof count, '\0');
  std::memcpy(out.data(), &count, sizeof count);
  out.append(tail);
  return out;
}

/// Counts its constructions: a container sized from a length constructs one per element.
struct counted {
  static inline std::size_t constructed = 0;
  std::uint8_t byte = 0;
  counted() { ++constructed; }
  TRIDENT_SERIALIZABLE(byte)
};

TEST(hostile_lengths, a_count_of_two_to_the_sixty_is_a_protocol_error_before_any_allocation) {
  // 2^60 one-byte elements: cereal would resize to an exabyte (bad_alloc, or under
  // AddressSanitizer an abort for an allocation larger than it supports).
  EXPECT_THROW((void)decode<std::vector<char>>(claiming(std::uint64_t{1} << 60, "sixteen bytes...")), protocol_error);
  EXPECT_THROW((void)decode<std::string>(claiming(std::uint64_t{1} << 60, "x")), protocol_error);
  EXPECT_THROW((void)decode<std::vector<std::uint64_t>>(claiming(std::uint64_t{1} << 60)), protocol_error);
}

TEST(hostile_lengths, a_container_is_never_sized_beyond_the_bytes_left) {
  // 2^28 elements would be 256 MiB constructed (and zeroed) before the read found the bytes
  // missing; checked first, not one element is made.
  counted::constructed = 0;
  EXPECT_THROW((void)decode<std::vector<counted>>(claiming(std::uint64_t{1} << 28, std::string(100, 'a'))),
               protocol_error);
  EXPECT_EQ(counted::constructed, 0u);
  // One more than the bytes left is refused; exactly as many is decoded.
  EXPECT_THROW((void)decode<std::vector<counted>>(claiming(101, std::string(100, 'a'))), protocol_error);
  EXPECT_EQ(counted::constructed, 0u);
  const auto exact = decode<std::vector<counted>>(claiming(100, std::string(100, 'a')));
  ASSERT_EQ(exact.size(), 100u);
  EXPECT_EQ(exact[99].byte, 'a');
}

TEST(hostile_lengths, every_kind_of_container_and_nesting_is_checked) {
  const std::string huge = claiming(std::uint64_t{1} << 40, std::string(64, '\0'));
  EXPECT_THROW((void)(decode<std::map<std::string, int>>(huge)), protocol_error);
  EXPECT_THROW((void)decode<std::vector<std::string>>(huge), protocol_error);
  // The outer count is honest, the inner one is not.
  const std::string nested = claiming(1, claiming(std::uint64_t{1} << 40, std::string(32, '\0')));
  EXPECT_THROW((void)decode<std::vector<std::vector<std::int32_t>>>(nested), protocol_error);
  // A length inside a tuple (as a worker's error frame carries: type name, message).
  const std::string error_frame = encode(std::string("std::runtime_error")) + claiming(std::uint64_t{1} << 50);
  EXPECT_THROW((void)(decode<std::pair<std::string, std::string>>(error_frame)), protocol_error);
  // Honest values still decode.
  const std::vector<std::vector<std::int32_t>> v{{1, 2, 3}, {}, {4}};
  EXPECT_EQ(decode<decltype(v)>(encode(v)), v);
}

TEST(hostile_bytes, a_flag_byte_other_than_zero_or_one_is_a_protocol_error) {
  // Found by fuzz/proc_codec_fuzz.cpp (UBSan: "load of value 4, which is not a valid value for
  // type 'bool'"): cereal copied the byte into the optional's flag.
  const std::string flag_of_four = std::string("\x04") + encode(std::string("x"));
  EXPECT_THROW((void)decode<std::optional<std::string>>(flag_of_four), protocol_error);
  EXPECT_THROW((void)decode<bool>(std::string("\x02")), protocol_error);
  EXPECT_THROW((void)decode<std::vector<bool>>(claiming(2, std::string("\x01\xff"))), protocol_error);
  EXPECT_EQ(decode<std::optional<std::string>>(encode(std::optional<std::string>("x"))), "x");
  EXPECT_EQ(decode<std::vector<bool>>(encode(std::vector<bool>{true, false})), (std::vector<bool>{true, false}));
}

using trident::proc::detail::frame_header_size;
using trident::proc::detail::frame_kind;
using trident::proc::detail::frame_magic;
using trident::proc::detail::frame_reader;
using trident::proc::detail::max_inline_payload;
using trident::proc::detail::max_shm_payload;

/// A frame header as a worker could write it, with any size and flags.
std::string header(std::uint64_t size, std::uint8_t flags = 0) {
  std::string out(frame_header_size, '\0');
  const std::uint32_t magic = frame_magic;
  std::memcpy(out.data(), &magic, 4);
  out[4] = static_cast<char>(frame_kind::result);
  out[5] = static_cast<char>(flags);
  const std::uint64_t id = 7;
  std::memcpy(out.data() + 8, &id, 8);
  std::memcpy(out.data() + 16, &size, 8);
  return out;
}

TEST(hostile_lengths, frames_over_the_stated_maximum_are_refused_from_their_header) {
  {
    // At the maximum, the reader waits for the payload (none of it has come).
    frame_reader r;
    r.feed(header(max_inline_payload));
    EXPECT_FALSE(r.next().has_value());
  }
  for (const std::uint64_t size : {max_inline_payload + 1, std::uint64_t{1} << 60, ~std::uint64_t{0}}) {
    // Refused at once from the header, without waiting for (or buffering) the bytes it claims.
    frame_reader r;
    r.feed(header(size));
    EXPECT_THROW((void)r.next(), protocol_error) << size;
  }
  {
    // A shared-memory payload beyond its maximum is refused before its descriptor is mapped.
    frame_reader r;
    r.push_fd(trident::proc::detail::make_payload_fd("small"));
    r.feed(header(max_shm_payload + 1, trident::proc::detail::flag_shm));
    EXPECT_THROW((void)r.next(), protocol_error);
  }
  {
    // A shared-memory frame that claims more than its memfd holds.
    frame_reader r;
    r.push_fd(trident::proc::detail::make_payload_fd("small"));
    r.feed(header(std::uint64_t{1} << 30, trident::proc::detail::flag_shm));
    EXPECT_THROW((void)r.next(), protocol_error);
  }
}

/// A result whose encoding lies: the task writes a length of 2^60 with nothing after it, as a
/// task can, since it encodes its own result in the worker.
struct lying_result {
  std::vector<char> bytes;
  template <class Archive>
  void save(Archive& archive) const {
    archive(cereal::make_size_tag(static_cast<cereal::size_type>(std::uint64_t{1} << 60)));
  }
  template <class Archive>
  void load(Archive& archive) {
    archive(bytes);
  }
};

lying_result lies(int) { return {}; }
TRIDENT_TASK(lies);

int doubled(int x) { return 2 * x; }
TRIDENT_TASK(doubled);

TEST(hostile_lengths, a_result_with_a_hostile_length_fails_its_task_not_the_parent) {
  trident::proc::process_pool pool(trident::proc::process_pool_options{.workers = 1});
  auto hostile = pool.submit(lies, 1);
  EXPECT_THROW((void)hostile.get(), protocol_error);
  // The pool, its worker and this process go on.
  EXPECT_EQ(pool.submit(doubled, 21).get(), 42);
}

}  // namespace
