// A `proc::queue`'s shared memory as another process could leave it: its header (capacity, slot
// size, message size, head and tail hints) and its slots (sequence words, claims, lengths), then
// attached by `shm_ring(fd)` as a child attaches an inherited queue, and read and written with
// deadlines already past. Attaching must refuse a header that does not describe the memfd; no
// get or put may touch memory outside the mapping or outlive its deadline (a corrupt ring is a
// protocol_error).
//
// Input: the bytes laid over the start of a real queue's memfd (4 slots of 64 bytes, 2
// messages in it), from byte 1 on, at the offset byte 0 chooses.

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

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
  for (std::size_t i = 1; i < size && at + i - 1 < image.size(); ++i) image[at + i - 1] = static_cast<char>(data[i]);
  const int fd = ::memfd_create("trident-queue-fuzz", MFD_CLOEXEC);
  if (fd < 0 || ::write(fd, image.data(), image.size()) != static_cast<ssize_t>(image.size())) __builtin_trap();
  try {
    shm_ring ring(fd);
    const auto past = std::chrono::steady_clock::now();
    std::string out;
    for (int i = 0; i < 6; ++i) (void)ring.get(out, &past);
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
