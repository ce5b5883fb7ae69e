// A queue's memfd as another process could leave it: attaching (shm_ring(fd), as a child does
// with an inherited queue) must refuse a header whose sizes do not describe the memfd, or a
// memfd whose size is not sealed, rather than read or write outside the mapping later; a header
// overwritten after attaching must move nothing; a ring whose positions no longer agree is a
// protocol_error for the get or put that finds it.

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>

#include "trident/proc/detail/memory_file.hpp"
#include "trident/proc/detail/shm_ring.hpp"
#include "trident/proc/errors.hpp"

namespace {

using trident::proc::detail::shm_ring;

// The header's first fields (src/proc/queue/ring_layout.hpp, ring_header): magic, slot size, capacity,
// largest message.
constexpr std::size_t slot_bytes_at = 4;
constexpr std::size_t capacity_at = 8;
constexpr std::size_t max_message_at = 16;

/// The bytes of a real queue of 4 slots of 64 bytes holding one message.
std::string queue_image() {
  shm_ring ring(4, 64);
  const auto now = std::chrono::steady_clock::now();
  EXPECT_TRUE(ring.put("hello", &now));
  struct ::stat st {};
  EXPECT_EQ(::fstat(ring.descriptor(), &st), 0);
  std::string image(static_cast<std::size_t>(st.st_size), '\0');
  EXPECT_EQ(::pread(ring.descriptor(), image.data(), image.size(), 0), static_cast<ssize_t>(image.size()));
  return image;
}

template <class T>
void put_field(std::string& image, std::size_t at, T value) {
  std::memcpy(image.data() + at, &value, sizeof value);
}

/// A memory file holding `image`, its size sealed as a queue's maker seals it.
int sealed_file_of(const std::string& image) {
  const int fd = trident::proc::detail::make_memory_file("queue-attach-test");
  EXPECT_EQ(::write(fd, image.data(), image.size()), static_cast<ssize_t>(image.size()));
  trident::proc::detail::seal_memory_file_size(fd);
  return fd;
}

/// Attaches to a memfd holding `image`, as shm_ring(fd) does; reads one message with a deadline
/// already past and returns it ("" if none).
std::string attach_and_get(const std::string& image) {
  const int fd = sealed_file_of(image);
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } close_it{fd};
  shm_ring ring(fd);
  const auto past = std::chrono::steady_clock::now();
  std::string out;
  (void)ring.get(out, &past);
  return out;
}

TEST(queue_attach, an_untouched_queue_attaches_and_delivers) { EXPECT_EQ(attach_and_get(queue_image()), "hello"); }

TEST(queue_attach, a_message_size_larger_than_a_slot_is_refused) {
  // A message size past the slot: a get would copy that much from the slot's payload, past the
  // slot and past the mapping.
  std::string image = queue_image();
  put_field<std::uint64_t>(image, max_message_at, std::uint64_t{1} << 40);
  EXPECT_THROW((void)attach_and_get(image), std::runtime_error);
  image = queue_image();
  put_field<std::uint64_t>(image, max_message_at, 0);
  EXPECT_THROW((void)attach_and_get(image), std::runtime_error);
}

TEST(queue_attach, a_slot_size_that_misaligns_the_slots_is_refused) {
  std::string image = queue_image();
  put_field<std::uint32_t>(image, slot_bytes_at, 100);  // slots are 64-byte aligned: atomics inside
  put_field<std::uint64_t>(image, max_message_at, 60);
  EXPECT_THROW((void)attach_and_get(image), std::runtime_error);
}

TEST(queue_attach, a_capacity_whose_size_overflows_is_refused) {
  // capacity * slot_bytes wraps around to a small number: the old check passed it, and slots
  // were then found at any offset.
  std::string image = queue_image();
  put_field<std::uint64_t>(image, capacity_at, (std::uint64_t{1} << 63) / 64 + 1);
  EXPECT_THROW((void)attach_and_get(image), std::runtime_error);
  image = queue_image();
  put_field<std::uint64_t>(image, capacity_at, 1000);  // more slots than the memfd holds
  EXPECT_THROW((void)attach_and_get(image), std::runtime_error);
}

TEST(queue_attach, hints_no_slot_agrees_with_are_a_protocol_error_not_a_hang) {
  // Found by fuzz/proc_queue_fuzz.cpp (a timeout): a tail or head hint far from every slot's
  // position made put and get walk the positions one by one, for up to 2^64 of them, past
  // their deadline. The hints sit on cache lines of their own after the first 64 bytes.
  constexpr std::size_t tail_at = 64;
  constexpr std::size_t head_at = 128;
  for (const std::size_t at : {tail_at, head_at}) {
    std::string image = queue_image();
    put_field<std::uint64_t>(image, at, std::uint64_t{0x0d} << 56);
    const int fd = sealed_file_of(image);
    shm_ring ring(fd);
    ::close(fd);
    const auto past = std::chrono::steady_clock::now();
    std::string out;
    if (at == tail_at) {
      EXPECT_THROW((void)ring.put("again", &past), trident::proc::protocol_error);
    } else {
      EXPECT_THROW((void)ring.get(out, &past), trident::proc::protocol_error);
    }
  }
}

TEST(queue_attach, a_memory_file_whose_size_is_not_sealed_is_refused) {
  // Its maker could shrink it under this process's mapping, which would then die of SIGBUS at
  // its next look at a slot past the new end.
  const std::string image = queue_image();
  const int fd = ::memfd_create("queue-attach-test", MFD_CLOEXEC);
  ASSERT_EQ(::write(fd, image.data(), image.size()), static_cast<ssize_t>(image.size()));
  EXPECT_THROW(shm_ring{fd}, trident::proc::protocol_error);
  ::close(fd);
}

TEST(queue_attach, a_queue_cannot_be_shrunk_by_the_processes_that_share_it) {
  shm_ring ring(4, 64);
  EXPECT_EQ(::ftruncate(ring.descriptor(), 64), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(::ftruncate(ring.descriptor(), 1 << 20), -1);
  EXPECT_EQ(errno, EPERM);
}

TEST(queue_attach, a_header_overwritten_after_attaching_moves_no_slot) {
  // The geometry is read once, at attach: a process that later writes a huge capacity, slot
  // size and message size into the header changes nothing about where this process reads and
  // writes (before, every slot address was computed from the shared header, so this sent
  // puts and gets far outside the mapping).
  shm_ring maker(4, 64);
  const auto now = std::chrono::steady_clock::now();
  ASSERT_TRUE(maker.put("hello", &now));
  shm_ring attached(maker.descriptor());
  const std::uint32_t huge_slot = 64u << 20;
  const std::uint64_t huge = std::uint64_t{1} << 40;
  ASSERT_EQ(::pwrite(maker.descriptor(), &huge_slot, sizeof huge_slot, slot_bytes_at), 4);
  ASSERT_EQ(::pwrite(maker.descriptor(), &huge, sizeof huge, capacity_at), 8);
  ASSERT_EQ(::pwrite(maker.descriptor(), &huge, sizeof huge, max_message_at), 8);
  EXPECT_EQ(attached.capacity(), 4u);
  EXPECT_EQ(attached.max_message(), 64u);
  std::string out;
  ASSERT_TRUE(attached.get(out, &now));
  EXPECT_EQ(out, "hello");
  EXPECT_THROW((void)attached.put(std::string(65, 'x'), &now), std::length_error);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(attached.put("m" + std::to_string(i), &now));
  EXPECT_FALSE(attached.put("full", &now));  // still 4 slots
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(maker.get(out, &now));
    EXPECT_EQ(out, "m" + std::to_string(i));
  }
}

}  // namespace
