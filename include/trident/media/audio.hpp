#pragma once
/// @file
/// `media::decode_audio`: any audio or video file FFmpeg's libraries can read, as the 16 kHz mono
/// float samples Whisper takes.

#include <filesystem>
#include <string>
#include <vector>

namespace trident::media {

/// Whisper's input rate.
inline constexpr int whisper_sample_rate = 16000;

/// Decoded audio: mono float samples in [-1, 1] at `whisper_sample_rate`.
struct decoded_audio {
  std::vector<float> samples;
  std::string codec;      ///< FFmpeg's name of the source codec ("mp3", "aac", "opus", ...).
  std::string container;  ///< FFmpeg's name of the container ("mp3", "mov,mp4,m4a,...", ...).
  [[nodiscard]] double seconds() const noexcept { return static_cast<double>(samples.size()) / whisper_sample_rate; }
};

/// Decodes the best audio stream of `path` (of a video: its sound), mixed down to mono and
/// resampled to 16 kHz with libswresample. Samples of float sources beyond [-1, 1] are clipped,
/// and NaN samples are silence.
///
/// Errors: throws `decode_error` naming the file and the reason — cannot be opened, no audio
/// stream, a codec this FFmpeg cannot decode, a sample rate outside 1 kHz to 768 kHz, a truncated
/// or corrupt file (any error while reading or decoding, or no sample at all). Never returns a partial result as a success.
///
/// @par Thread safety
/// Any number of threads may decode at once (each call has its own FFmpeg contexts).
/// @par Cancellation
/// Not a cancellation point; a call takes milliseconds per minute of audio.
[[nodiscard]] decoded_audio decode_audio(const std::filesystem::path& path);

}  // namespace trident::media
