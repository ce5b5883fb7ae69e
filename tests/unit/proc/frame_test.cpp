#include "trident/proc/detail/frame.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <string>

#include "trident/proc/errors.hpp"

namespace {

using namespace trident::proc::detail;
using trident::proc::protocol_error;

TEST(frame, round_trips_through_a_byte_stream_split_anywhere) {
  std::string stream;
  append_frame(stream, frame_kind::task, 7, "payload one");
  append_frame(stream, frame_kind::result, 8, "");
  append_frame(stream, frame_kind::error, 9, std::string(1000, 'z'));
  for (std::size_t split = 0; split <= stream.size(); split += 13) {
    frame_reader r;
    r.feed(std::string_view(stream).substr(0, split));
    std::vector<std::pair<std::uint64_t, std::string>> got;
    while (auto f = r.next()) got.emplace_back(f->id, std::string(f->payload));
    r.feed(std::string_view(stream).substr(split));
    while (auto f = r.next()) got.emplace_back(f->id, std::string(f->payload));
    ASSERT_EQ(got.size(), 3u) << split;
    EXPECT_EQ(got[0].second, "payload one");
    EXPECT_EQ(got[1].first, 8u);
    EXPECT_EQ(got[2].second.size(), 1000u);
    EXPECT_EQ(r.buffered(), 0u);
  }
}

TEST(frame, truncated_frame_waits_for_more_and_reports_leftovers) {
  std::string stream;
  append_frame(stream, frame_kind::task, 1, "abcdef");
  frame_reader r;
  r.feed(std::string_view(stream).substr(0, stream.size() - 2));
  EXPECT_FALSE(r.next().has_value());
  EXPECT_EQ(r.buffered(), stream.size() - 2);
}

TEST(frame, corrupted_header_is_a_protocol_error) {
  std::string stream;
  append_frame(stream, frame_kind::task, 1, "abc");
  {
    std::string bad = stream;
    bad[0] ^= 0x40;  // magic
    frame_reader r;
    r.feed(bad);
    EXPECT_THROW(r.next(), protocol_error);
  }
  {
    std::string bad = stream;
    bad[4] = 99;  // kind
    frame_reader r;
    r.feed(bad);
    EXPECT_THROW(r.next(), protocol_error);
  }
  {
    std::string bad = stream;
    std::uint64_t huge = std::uint64_t{1} << 50;
    std::memcpy(bad.data() + 16, &huge, 8);  // inline size out of range
    frame_reader r;
    r.feed(bad);
    EXPECT_THROW(r.next(), protocol_error);
  }
  {
    std::string bad;
    append_shm_header(bad, frame_kind::result, 3, 100);  // no descriptor came with it
    frame_reader r;
    r.feed(bad);
    EXPECT_THROW(r.next(), protocol_error);
  }
}

// Property: whatever bytes arrive, the reader returns frames, asks for more, or throws
// protocol_error — never crashes, hangs or over-reads (ASan run checks the last).
TEST(frame, fuzz_random_and_mutated_streams) {
  std::mt19937_64 rng(12345);
  std::string valid;
  for (int i = 0; i < 5; ++i) append_frame(valid, frame_kind::result, i, std::string(i * 10, 'a' + i));
  for (int round = 0; round < 20000; ++round) {
    std::string input;
    if (round % 2 == 0) {
      input.resize(rng() % 200);
      for (auto& c : input) c = static_cast<char>(rng());
    } else {
      input = valid;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < flips; ++k) input[rng() % input.size()] = static_cast<char>(rng());
      input.resize(rng() % (input.size() + 1));
    }
    frame_reader r;
    try {
      std::size_t pos = 0;
      while (pos < input.size()) {
        const std::size_t n = std::min<std::size_t>(1 + rng() % 64, input.size() - pos);
        r.feed(std::string_view(input).substr(pos, n));
        pos += n;
        while (auto f = r.next()) {
          ASSERT_LE(f->payload.size(), max_inline_payload);
        }
      }
    } catch (const protocol_error&) {}
  }
}

TEST(frame, large_payload_travels_as_a_memfd_over_a_socket) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  std::string big(300 * 1024, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  frame_writer w;
  w.add(frame_kind::task, 1, "small");
  w.add(frame_kind::task, 2, big);
  w.add(frame_kind::task, 3, "after");
  ASSERT_TRUE(w.flush(sv[0]));
  ASSERT_TRUE(w.empty());
  ::shutdown(sv[0], SHUT_WR);
  frame_reader r;
  std::vector<std::string> got;
  for (;;) {
    const long n = read_into(sv[1], r);
    ASSERT_GE(n, 0);
    while (auto f = r.next()) got.emplace_back(f->payload);
    if (n == 0) break;
  }
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], "small");
  EXPECT_EQ(got[1], big);
  EXPECT_EQ(got[2], "after");
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST(frame, a_payload_file_whose_size_is_not_sealed_is_refused_before_it_is_mapped) {
  // A sender that keeps a payload's memory file unsealed could shrink it after sending, and the
  // reader would die of SIGBUS reading the mapping: it is a protocol_error before any mapping.
  const std::string payload(100, 'p');
  const int unsealed = ::memfd_create("frame-test", MFD_CLOEXEC);
  ASSERT_GE(unsealed, 0);
  ASSERT_EQ(::write(unsealed, payload.data(), payload.size()), static_cast<ssize_t>(payload.size()));
  frame_reader r;
  std::string header;
  append_shm_header(header, frame_kind::result, 7, payload.size());
  r.feed(header);
  r.push_fd(unsealed);  // the reader owns it now, as after a recvmsg
  EXPECT_THROW(r.next(), protocol_error);

  // The same bytes in a file made the way senders make them are read.
  const int sealed = make_payload_fd(payload);
  EXPECT_EQ(::ftruncate(sealed, 0), -1) << "a sent payload's file must not shrink";
  EXPECT_EQ(errno, EPERM);
  frame_reader good;
  good.feed(header);
  good.push_fd(sealed);
  auto f = good.next();
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->payload, payload);
}

}  // namespace
