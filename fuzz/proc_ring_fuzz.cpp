// A pool worker's shared-memory channel ring as the worker (or anything that maps its memfd)
// could leave it: any bytes in the ring and any published tail, read by the pool's
// `ring_reader` (channel_ring.hpp), which must refuse with protocol_error what is not a frame
// and never read outside the ring.
//
// Input: 8 bytes of head position, 8 of tail offset from it, then the bytes written at the head.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "trident/proc/detail/channel_ring.hpp"
#include "trident/proc/errors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace trident::proc::detail;
  if (size < 16) return 0;
  static std::vector<char> ring(ring_capacity);
  std::uint64_t head = 0;
  std::uint64_t tail_offset = 0;
  std::memcpy(&head, data, 8);
  std::memcpy(&tail_offset, data + 8, 8);
  head %= 4 * ring_capacity;  // any lap; a position near the end makes entries wrap
  data += 16;
  size -= 16;
  std::memset(ring.data(), 0, ring.size());
  for (std::size_t i = 0; i < size && i < ring_capacity; ++i) {
    ring[(head + i) % ring_capacity] = static_cast<char>(data[i]);
  }
  std::atomic<std::uint64_t> head_word{head};
  std::atomic<std::uint64_t> tail_word{head + tail_offset % (2 * ring_capacity)};
  ring_reader reader(ring.data(), &head_word, &tail_word);
  try {
    for (int i = 0; i < 4096; ++i) {
      auto f = reader.next();
      if (!f) break;
      if (!f->on_socket) {
        const char* begin = f->payload.data();
        if (begin < ring.data() || begin + f->payload.size() > ring.data() + ring.size()) __builtin_trap();
        volatile char sink = 0;
        for (char c : f->payload) sink = static_cast<char>(sink ^ c);  // every byte is inside the ring
      }
      if (i % 8 == 7) reader.release();
    }
  } catch (const trident::proc::protocol_error&) {}
  return 0;
}
