// A `proc::queue`'s shared memory as another process could leave it: its header (capacity, slot
// size, message size, head and tail hints) and its slots (sequence words, claims, lengths), then
// attached by `shm_ring(fd)` as a child attaches an inherited queue, and read and written with
// deadlines already past. Attaching must refuse a header that does not describe the memfd; no
// get or put may touch memory outside the mapping or outlive its deadline (a corrupt ring is a
// protocol_error). The other process may also write after this one attached: the geometry it
// checked must be the one it keeps using.
//
// Input: byte 1 says how many of the bytes after it are laid over a real queue's memfd (4 slots
// of 64 bytes, 2 messages in it) before attaching, and the rest are written after attaching,
// between the gets; byte 0 chooses where: its low 3 bits the 64-byte line of the first, its high
// 5 bits that of the second.

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include "trident/proc/detail/memory_file.hpp"
#include "trident/proc/detail/shm_ring.hpp"
#include "trident/proc/errors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using trident::proc::detail::shm_ring;
  if (size == 0) return 0;
  std::string image;
  {
    shm_ring original(4, 64);
    const auto now = std::chrono::steady_clock::now();
    original.put("first message", &now);
    original.put(std::string(64, 'x'), &now);
    struct ::stat st {};
    if (::fstat(original.descriptor(), &st) != 0) __builtin_trap();
    image.resize(static_cast<std::size_t>(st.st_size));
    if (::pread(original.descriptor(), image.data(), image.size(), 0) != static_cast<ssize_t>(image.size())) {
      __builtin_trap();
    }
  }
  const std::size_t at = (data[0] % 8) * 64 % image.size();
  const std::size_t before = size > 1 ? std::min<std::size_t>(data[1], size - 2) : 0;
  const std::uint8_t* bytes = data + std::min<std::size_t>(size, 2);
  for (std::size_t i = 0; i < before && at + i < image.size(); ++i) image[at + i] = static_cast<char>(bytes[i]);
  const int fd = trident::proc::detail::make_memory_file("trident-queue-fuzz");
  if (::write(fd, image.data(), image.size()) != static_cast<ssize_t>(image.size())) __builtin_trap();
  trident::proc::detail::seal_memory_file_size(fd);
  try {
    shm_ring ring(fd);
    const auto past = std::chrono::steady_clock::now();
    std::string out;
    (void)ring.get(out, &past);
    const std::size_t later_at = static_cast<std::size_t>(data[0] >> 3) * 64 % image.size();
    const std::size_t later = std::min(size - std::min<std::size_t>(size, 2) - before, image.size() - later_at);
    if (later > 0 && ::pwrite(fd, bytes + before, later, static_cast<off_t>(later_at)) != static_cast<ssize_t>(later)) {
      __builtin_trap();
    }
    for (int i = 0; i < 5; ++i) (void)ring.get(out, &past);
    try {
      (void)ring.put("again", &past);
    } catch (const std::length_error&) {  // a message size under 5 bytes
    }
  } catch (const trident::proc::protocol_error&) {  // a corrupt ring, found by a get or put
  } catch (const std::runtime_error&) {             // not a queue
  }
  ::close(fd);
  return 0;
}
