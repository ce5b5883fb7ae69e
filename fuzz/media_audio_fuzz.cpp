// An audio or video file as a download or a user's list could hand it over: any bytes, through
// `media::decode_audio`, which hands them to FFmpeg's demuxers and decoders and then works with
// what FFmpeg reports back (streams, codec parameters, channel layouts, sample rates, durations,
// frames). FFmpeg is not instrumented here, so coverage counts Trident's side: the checks of what
// FFmpeg reports, the resampling set-up, the buffer sizing and the truncation check. A decode
// either fails with decode_error or returns samples Whisper can take: at least one, every one
// finite and in [-1, 1]; and it never allocates what a header claims rather than what the file
// holds.
//
// Input: the file's bytes (written to a memfd, read through /proc/self/fd, as media_model does).

#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "trident/media/audio.hpp"
#include "trident/media/errors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const int fd = ::memfd_create("trident-audio-fuzz", MFD_CLOEXEC);
  if (fd < 0) __builtin_trap();
  if (size != 0 && ::write(fd, data, size) != static_cast<ssize_t>(size)) __builtin_trap();
  try {
    const auto audio = trident::media::decode_audio("/proc/self/fd/" + std::to_string(fd));
    if (audio.samples.empty()) __builtin_trap();
    for (const float s : audio.samples) {
      if (!std::isfinite(s) || s < -1.0F || s > 1.0F) __builtin_trap();
    }
  } catch (const trident::media::decode_error&) {}
  ::close(fd);
  return 0;
}
