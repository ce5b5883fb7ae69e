// media::decode_audio on each container the lesson's samples come in, and on broken files.

#include <gtest/gtest.h>

#include <cmath>

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

}  // namespace
