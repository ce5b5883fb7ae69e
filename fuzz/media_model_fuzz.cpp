// A whisper model file as a download or a user's `--model` could hand it over: any bytes,
// through `media::inspect_model`, which must refuse with model_error what whisper.cpp's loader
// would not accept, never read past the file or allocate what its counts claim.
//
// Input: the file's bytes (written to a memfd, read through /proc/self/fd).

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "trident/media/errors.hpp"
#include "trident/media/model_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const int fd = ::memfd_create("trident-model-fuzz", MFD_CLOEXEC);
  if (fd < 0) __builtin_trap();
  if (size != 0 && ::write(fd, data, size) != static_cast<ssize_t>(size)) __builtin_trap();
  try {
    const auto info = trident::media::inspect_model("/proc/self/fd/" + std::to_string(fd));
    if (info.file_bytes != size) __builtin_trap();
  } catch (const trident::media::model_error&) {}
  ::close(fd);
  return 0;
}
