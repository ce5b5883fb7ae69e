// A queue's memfd as another process could leave it: attaching (shm_ring(fd), as a child does
// with an inherited queue) must refuse a header whose sizes do not describe the memfd, rather
// than read or write outside the mapping later; a ring whose positions no longer agree is a
// protocol_error for the get or put that finds it.

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>

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

/// Attaches to a memfd holding `image`, as shm_ring(fd) does; reads one message with a deadline
/// already past and returns it ("" if none).
std::string attach_and_get(const std::string& image) {
  const int fd = ::memfd_create("queue-attach-test", MFD_CLOEXEC);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(::write(fd, image.data(), image.size()), static_cast<ssize_t>(image.size()));
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
    const int fd = ::memfd_create("queue-attach-test", MFD_CLOEXEC);
    ASSERT_EQ(::write(fd, image.data(), image.size()), static_cast<ssize_t>(image.size()));
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

}  // namespace
