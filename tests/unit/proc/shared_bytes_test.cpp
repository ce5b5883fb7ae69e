// proc::shared_bytes: shared with pool tasks by descriptor (no copy), by value everywhere else.

#include "trident/proc/shared_bytes.hpp"

#include <gtest/gtest.h>
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstring>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "trident/proc/codec.hpp"
#include "trident/proc/errors.hpp"
#include "trident/proc/process_pool.hpp"
#include "trident/proc/queue.hpp"

namespace proc = trident::proc;

namespace {

/// Sum of the bytes: proves the task reads what the caller wrote.
std::uint64_t byte_sum(proc::shared_bytes b) {
  std::uint64_t sum = 0;
  for (std::byte x : b.bytes()) sum += static_cast<std::uint64_t>(x);
  return sum;
}
TRIDENT_TASK(byte_sum);

/// Writes `value` into every byte of the argument: the caller sees it if the memory is shared.
int fill_argument(proc::shared_bytes b, int value) {
  std::memset(b.data(), value, b.size());
  return static_cast<int>(b.size());
}
TRIDENT_TASK(fill_argument);

/// Several blocks in one task, and a block returned (by value).
proc::shared_bytes join_blocks(std::vector<proc::shared_bytes> parts) {
  std::string all;
  for (const auto& p : parts) all += p.view();
  return proc::shared_bytes::copy_of(all);
}
TRIDENT_TASK(join_blocks);

std::size_t block_size(proc::shared_bytes b) { return b.size(); }
TRIDENT_TASK(block_size);

int crash_on_shared(proc::shared_bytes b) {
  if (!b.empty() && b.data()[0] == std::byte{'!'}) ::raise(SIGKILL);
  return static_cast<int>(b.size());
}
TRIDENT_TASK(crash_on_shared);

std::size_t open_descriptors() {
  std::size_t n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return 0;
  while (::readdir(d) != nullptr) ++n;
  ::closedir(d);
  return n;
}

proc::shared_bytes pattern(std::size_t size) {
  proc::shared_bytes b(size);
  for (std::size_t i = 0; i < size; ++i) b.data()[i] = static_cast<std::byte>(i * 7 + 1);
  return b;
}

std::uint64_t expected_sum(const proc::shared_bytes& b) {
  std::uint64_t sum = 0;
  for (std::byte x : b.bytes()) sum += static_cast<std::uint64_t>(x);
  return sum;
}

}  // namespace

TEST(shared_bytes, is_zeroed_shared_between_copies_and_copies_in_copy_of) {
  proc::shared_bytes empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.data(), nullptr);

  proc::shared_bytes b(4096);
  ASSERT_EQ(b.size(), 4096u);
  for (std::byte x : b.bytes()) ASSERT_EQ(x, std::byte{0});
  proc::shared_bytes copy = b;
  copy.data()[10] = std::byte{42};
  EXPECT_EQ(b.data()[10], std::byte{42});  // one block, two handles
  EXPECT_TRUE(same_memory(b, copy));

  proc::shared_bytes text = proc::shared_bytes::copy_of(std::string_view("hello"));
  EXPECT_EQ(text.view(), "hello");
  EXPECT_FALSE(same_memory(text, proc::shared_bytes::copy_of(text.view())));
}

TEST(shared_bytes, travels_by_value_through_the_codec_outside_a_pool) {
  const proc::shared_bytes b = pattern(100'000);
  const std::string bytes = proc::encode(b);
  EXPECT_GT(bytes.size(), 100'000u);  // the bytes themselves are in the message
  const auto back = proc::decode<proc::shared_bytes>(bytes);
  EXPECT_FALSE(same_memory(back, b));
  EXPECT_EQ(back.view(), b.view());

  proc::queue<proc::shared_bytes> q(2, 4096);
  q.send(proc::shared_bytes::copy_of(std::string_view("through a queue")));
  auto got = q.receive();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->view(), "through a queue");
}

TEST(shared_bytes, a_reference_without_its_descriptor_is_a_protocol_error) {
  // The encoding a pool uses (tag 1: descriptor 0), decoded where no descriptor came with it.
  std::string message;
  proc::encode_into(message, std::uint8_t{1}, std::uint32_t{0}, std::uint64_t{16});
  EXPECT_THROW(proc::decode<proc::shared_bytes>(message), proc::protocol_error);
  std::string unknown;
  proc::encode_into(unknown, std::uint8_t{7}, std::uint64_t{0});
  EXPECT_THROW(proc::decode<proc::shared_bytes>(unknown), proc::protocol_error);
}

TEST(shared_bytes, a_pool_task_reads_and_writes_the_callers_memory) {
  proc::process_pool pool(2);
  const proc::shared_bytes big = pattern(3 << 20);
  EXPECT_EQ(pool.submit(byte_sum, big).get(), expected_sum(big));

  // Small blocks are shared too (not copied into the message): the task's writes come back.
  proc::shared_bytes small(64);
  EXPECT_EQ(pool.submit(fill_argument, small, 9).get(), 64);
  for (std::byte x : small.bytes()) ASSERT_EQ(x, std::byte{9});
  proc::shared_bytes large(1 << 20);
  EXPECT_EQ(pool.submit(fill_argument, large, 3).get(), 1 << 20);
  EXPECT_EQ(large.data()[(1 << 20) - 1], std::byte{3});

  // Empty blocks need no descriptor.
  EXPECT_EQ(pool.submit(block_size, proc::shared_bytes()).get(), 0u);
}

TEST(shared_bytes, map_chunks_and_many_blocks_in_one_task) {
  proc::process_pool pool(2);
  std::vector<proc::shared_bytes> blocks;
  for (int i = 0; i < 40; ++i) blocks.push_back(pattern(1000 + static_cast<std::size_t>(i) * 37));
  const auto sums = pool.map(byte_sum, blocks, 7);  // chunks of 7 blocks each
  ASSERT_EQ(sums.size(), blocks.size());
  for (std::size_t i = 0; i < blocks.size(); ++i) EXPECT_EQ(sums[i], expected_sum(blocks[i])) << i;

  // More blocks than one message can share: the rest travel by value, with the same result.
  std::vector<proc::shared_bytes> parts;
  std::string expected;
  for (std::size_t i = 0; i < proc::max_shared_per_message + 20; ++i) {
    parts.push_back(proc::shared_bytes::copy_of(std::to_string(i) + ","));
    expected += std::to_string(i) + ",";
  }
  const proc::shared_bytes joined = pool.submit(join_blocks, parts).get();
  EXPECT_EQ(joined.view(), expected);
}

TEST(shared_bytes, a_crash_fails_only_its_task_and_the_blocks_are_resent_to_the_others) {
  proc::process_pool pool(1);
  std::vector<trident::exec::future<int>> fs;
  const proc::shared_bytes crash = proc::shared_bytes::copy_of(std::string_view("!boom"));
  for (int i = 0; i < 6; ++i) {
    fs.push_back(pool.submit(crash_on_shared, i == 2 ? crash : pattern(5000 + static_cast<std::size_t>(i))));
  }
  for (int i = 0; i < 6; ++i) {
    if (i == 2) {
      EXPECT_THROW(fs[i].get(), proc::worker_crashed_error);
    } else {
      EXPECT_EQ(fs[i].get(), 5000 + i) << i;
    }
  }
}

TEST(shared_bytes, no_descriptor_is_left_open_by_the_pool) {
  proc::process_pool pool(2);
  auto run = [&pool](int n) {
    for (int i = 0; i < n; ++i) {
      const proc::shared_bytes b = pattern(4096);
      ASSERT_EQ(pool.submit(byte_sum, b).get(), expected_sum(b));
    }
  };
  // The pool's I/O thread frees a job (its payload's and its blocks' descriptors) just after
  // completing its future, so the count is read once the last job is gone.
  auto settled_count = [] {
    std::size_t n = open_descriptors();
    for (int i = 0; i < 200; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      const std::size_t again = open_descriptors();
      if (again == n) break;
      n = again;
    }
    return n;
  };
  run(100);  // whatever the pool opens once (channels, wake-up descriptors) is open by now
  const std::size_t before = settled_count();
  run(300);
  EXPECT_EQ(settled_count(), before);  // nothing per task
}
