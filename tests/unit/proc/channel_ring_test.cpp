// The rings of a pool worker's shared-memory channel, inside one process: frames of every size
// cross in order through many wrap-arounds, a full ring refuses a frame until the reader
// releases, and bytes that are not frames are a protocol_error, never a crash.

#include "trident/proc/detail/channel_ring.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <random>
#include <string>

#include "trident/proc/errors.hpp"

namespace {

using namespace trident::proc::detail;

TEST(channel_ring, frames_cross_in_order_through_many_wrap_arounds) {
  int fd = -1;
  auto memory = channel_memory::create(fd);
  ::close(fd);
  auto writer = memory.task_writer();
  auto reader = memory.task_reader();
  std::mt19937 rng(7);
  std::uint64_t written = 0;
  std::uint64_t read = 0;
  std::uint64_t bytes = 0;
  auto payload_of = [](std::uint64_t id) {
    const std::size_t n = (id * 7919) % (max_inline_payload + 1);  // 0 .. 64 KiB, uneven
    return std::string(n, static_cast<char>('a' + id % 26));
  };
  while (read < 3000) {
    // Write a random batch, publish once; read a random number, release.
    const int batch = static_cast<int>(rng() % 20) + 1;
    for (int i = 0; i < batch; ++i) {
      const std::string p = payload_of(written + 1);
      if (!writer.try_add(frame_kind::task, written + 1, p)) break;
      ++written;
      bytes += p.size();
    }
    writer.publish();
    const int take = static_cast<int>(rng() % 25);
    for (int i = 0; i < take; ++i) {
      auto f = reader.next();
      if (!f) break;
      ++read;
      ASSERT_EQ(f->id, read);
      ASSERT_EQ(f->kind, frame_kind::task);
      ASSERT_EQ(f->payload, payload_of(read));
    }
    reader.release();
  }
  EXPECT_GT(bytes, 10 * ring_capacity) << "the test did not wrap the ring many times";
}

TEST(channel_ring, a_full_ring_refuses_until_the_reader_releases) {
  int fd = -1;
  auto memory = channel_memory::create(fd);
  ::close(fd);
  auto writer = memory.result_writer();
  auto reader = memory.result_reader();
  const std::string big(max_inline_payload, 'x');
  std::uint64_t n = 0;
  while (writer.try_add(frame_kind::result, n + 1, big)) ++n;
  EXPECT_GT(n, 0u);
  writer.publish();
  EXPECT_FALSE(writer.try_add(frame_kind::result, n + 1, big));
  ASSERT_TRUE(reader.next().has_value());
  EXPECT_FALSE(writer.try_add(frame_kind::result, n + 1, big)) << "room given back before release";
  reader.release();
  EXPECT_TRUE(writer.try_add(frame_kind::result, n + 1, big));
  EXPECT_FALSE(writer.drained());
}

TEST(channel_ring, bytes_that_are_not_frames_are_a_protocol_error) {
  std::mt19937 rng(11);
  for (int round = 0; round < 2000; ++round) {
    int fd = -1;
    auto memory = channel_memory::create(fd);
    ::close(fd);
    auto writer = memory.result_writer();
    // A few valid frames, then damage: random bytes over part of them, or a wild tail.
    for (int i = 0; i < 4; ++i) writer.try_add(frame_kind::result, static_cast<std::uint64_t>(i + 1), "payload");
    writer.publish();
    auto& control = memory.control();
    char* ring = reinterpret_cast<char*>(&control) + channel_control_size + ring_capacity;
    const std::uint64_t tail = control.result_tail.load();
    if (round % 3 == 0) {
      control.result_tail.store(rng() % 2 == 0 ? rng() : tail + 8 * (rng() % 100));
    } else {
      const std::size_t at = rng() % tail;
      const std::size_t len = 1 + rng() % 16;
      for (std::size_t i = 0; i < len && at + i < tail; ++i) ring[at + i] = static_cast<char>(rng());
    }
    auto reader = memory.result_reader();
    try {
      for (int i = 0; i < 100; ++i) {
        auto f = reader.next();
        if (!f) break;
        ASSERT_LE(f->payload.size(), max_inline_payload);
      }
    } catch (const trident::proc::protocol_error&) {
      // reported, as it must be
    }
  }
}

}  // namespace
