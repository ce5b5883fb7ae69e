// media::decode_audio on each container the lesson's samples come in, and on broken files.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "media_fixtures.hpp"
#include "trident/media/audio.hpp"
#include "trident/media/errors.hpp"

namespace {

using media_test::media_fixtures;
using trident::media::decode_audio;
using trident::media::decode_error;

double rms(const std::vector<float>& s) {
  double sum = 0;
  for (float v : s) sum += static_cast<double>(v) * v;
  return s.empty() ? 0 : std::sqrt(sum / static_cast<double>(s.size()));
}

TEST(Audio, EveryContainerDecodesToTheSameSpeechAt16kHzMono) {
  const auto& f = media_fixtures();
  for (const auto& [ext, path] : f.containers) {
    SCOPED_TRACE(ext);
    const auto audio = decode_audio(path);
    // Encoders add priming samples and padding (AAC, Opus: tens of milliseconds).
    EXPECT_NEAR(audio.seconds(), f.speech_seconds, 0.15);
    EXPECT_GT(rms(audio.samples), 0.01) << "silence where speech was";
    for (float v : audio.samples) ASSERT_LE(std::abs(v), 1.5f);
    EXPECT_FALSE(audio.codec.empty());
  }
}

TEST(Audio, AudioIsTakenFromVideo) {
  const auto& f = media_fixtures();
  for (const auto& [ext, path] : f.containers) {
    if (ext != "mp4" && ext != "webm") continue;
    const auto audio = decode_audio(path);
    EXPECT_TRUE(audio.codec == "aac" || audio.codec == "opus") << audio.codec;
  }
}

void expect_decode_error(const std::filesystem::path& path, const std::string& words) {
  try {
    (void)decode_audio(path);
    ADD_FAILURE() << path << " decoded";
  } catch (const decode_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path.string()), std::string::npos) << message;
    EXPECT_NE(message.find(words), std::string::npos) << message;
  }
}

TEST(Audio, VideoWithoutSoundSaysNoAudioStream) { expect_decode_error(media_fixtures().video_only, "no audio stream"); }

TEST(Audio, TruncatedFilesAreErrors) {
  expect_decode_error(media_fixtures().truncated_m4a, "truncated");
  expect_decode_error(media_fixtures().truncated_flac, "truncated");
}

TEST(Audio, CorruptFileIsAnError) { expect_decode_error(media_fixtures().corrupt, "cannot open as media"); }

TEST(Audio, UnknownCodecIsAnError) { expect_decode_error(media_fixtures().unsupported, "unsupported audio codec"); }

TEST(Audio, MissingFileIsAnError) { expect_decode_error(media_fixtures().dir / "no-such-file.mp3", "cannot open"); }

/// A WAV file written here byte by byte: `format` 1 (integer PCM) or 3 (IEEE float), mono,
/// `rate` Hz, `bits` per sample, with `data` as its samples and `claimed_data_bytes` in its data
/// chunk's header (the real size unless a test lies).
std::filesystem::path write_wav(const std::string& name, std::uint16_t format, std::uint32_t rate, std::uint16_t bits,
                                const std::string& data, std::uint32_t claimed_data_bytes) {
  std::string out = "RIFF";
  auto put = [&out](auto value) { out.append(reinterpret_cast<const char*>(&value), sizeof value); };
  put(std::uint32_t{36} + claimed_data_bytes);
  out += "WAVEfmt ";
  put(std::uint32_t{16});
  put(format);
  put(std::uint16_t{1});
  put(rate);
  put(std::uint32_t{rate * bits / 8});
  put(static_cast<std::uint16_t>(bits / 8));
  put(bits);
  out += "data";
  put(claimed_data_bytes);
  out += data;
  const auto path = media_fixtures().dir / name;
  std::ofstream(path, std::ios::binary) << out;
  return path;
}

TEST(Audio, FloatSamplesBeyondFullScaleAreClippedAndNaNIsSilence) {
  // Found by fuzz/media_audio_fuzz.cpp's invariant: a float codec carries any value, and
  // decode_audio promises Whisper samples in [-1, 1].
  std::vector<float> source(1600, 0.5F);
  for (std::size_t i = 0; i < source.size(); i += 4) {
    source[i] = 2.5F;
    source[i + 1] = -7.0F;
    source[i + 2] = std::numeric_limits<float>::quiet_NaN();
  }
  const std::string bytes(reinterpret_cast<const char*>(source.data()), source.size() * sizeof(float));
  const auto audio = decode_audio(
      write_wav("float_beyond_full_scale.wav", 3, 16000, 32, bytes, static_cast<std::uint32_t>(bytes.size())));
  ASSERT_FALSE(audio.samples.empty());
  float lowest = 0;
  float highest = 0;
  for (const float v : audio.samples) {
    ASSERT_TRUE(std::isfinite(v));
    lowest = std::min(lowest, v);
    highest = std::max(highest, v);
  }
  EXPECT_EQ(highest, 1.0F);
  EXPECT_EQ(lowest, -1.0F);
}

TEST(Audio, AHeaderClaimingDaysOfAudioIsATruncatedFileNotAnAllocation) {
  // A FLAC file whose STREAMINFO claims 2^36 - 1 samples: 99 days at 8 kHz, which FFmpeg reports
  // as the stream's duration. decode_audio reserved room for all of it at 16 kHz (550 GB, so
  // std::bad_alloc instead of a decode_error) before reading a sample; it reserves at most ten
  // minutes now, decodes what is there, and finds the file far shorter than it says.
  std::ifstream in(media_fixtures().dir / "speech.flac", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 26u);
  ASSERT_EQ(bytes.substr(0, 4), "fLaC");
  // STREAMINFO's data starts at byte 8; its bytes 10 to 17 hold the sample rate (20 bits), the
  // channels (3), the bits per sample (5) and the total samples (36): set those 36 bits.
  bytes[8 + 13] = static_cast<char>(static_cast<unsigned char>(bytes[8 + 13]) | 0x0F);
  for (int i = 14; i < 18; ++i) bytes[8 + i] = static_cast<char>(0xFF);
  const auto path = media_fixtures().dir / "claims_days.flac";
  std::ofstream(path, std::ios::binary) << bytes;
  expect_decode_error(path, "truncated");
}

TEST(Audio, SampleRatesNoAudioUsesAreRefusedBeforeTheResamplerIsBuilt) {
  // Found by fuzz/media_audio_fuzz.cpp (a timeout): a 535-byte WAV at 805,510,976 Hz kept
  // libswresample building its filter for over 14 s. Speech needs neither that nor under 1 kHz.
  const std::string samples(400, '\1');
  expect_decode_error(write_wav("rate_805mhz.wav", 1, 805'510'976U, 16, samples, 400), "sample rate");
  expect_decode_error(write_wav("rate_100hz.wav", 1, 100, 16, samples, 400), "sample rate");
  EXPECT_FALSE(decode_audio(write_wav("rate_8khz.wav", 1, 8000, 16, samples, 400)).samples.empty());
}

}  // namespace
