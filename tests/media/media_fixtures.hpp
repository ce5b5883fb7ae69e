#pragma once
// Media and models for the media tests, made once per build tree (a lock file keeps parallel
// test processes from making them twice) with Debian's tools: espeak-ng speaks a sentence,
// ffmpeg converts it into each container; the model is a generated tiny one.

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "trident/testing/whisper_model_generator.hpp"

namespace media_test {

namespace fs = std::filesystem;

struct fixtures {
  fs::path dir;
  fs::path model;   // generated tiny model
  fs::path speech;  // the espeak-ng original (wav, 22050 Hz)
  double speech_seconds = 0;
  // One file per container, same speech: name -> path
  std::vector<std::pair<std::string, fs::path>> containers;
  fs::path video_only;      // mp4 without an audio stream
  fs::path truncated_m4a;   // first half of a faststart m4a
  fs::path truncated_flac;  // first half of a flac
  fs::path corrupt;         // random bytes named .mp3
  fs::path unsupported;     // a wav whose audio format tag no decoder knows
};

inline void run(const std::string& command) {
  if (std::system(command.c_str()) != 0) throw std::runtime_error("fixture command failed: " + command);
}

inline void truncate_copy(const fs::path& from, const fs::path& to, double fraction) {
  std::ifstream in(from, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ofstream(to, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() * fraction));
}

inline const fixtures& media_fixtures() {
  static const fixtures f = [] {
    fixtures x;
    x.dir = TRIDENT_MEDIA_FIXTURE_DIR;
    fs::create_directories(x.dir);
    x.model = x.dir / "ggml-tiny-generated.bin";
    x.speech = x.dir / "espeak.wav";
    const std::vector<std::pair<std::string, std::string>> formats = {
        {"wav", "-c:a pcm_s16le"},
        {"mp3", "-c:a libmp3lame"},
        {"m4a", "-c:a aac"},
        {"mp4",
         "-f lavfi -i color=c=blue:s=64x64:d=12 -shortest -c:v libx264 -pix_fmt yuv420p -c:a aac -map 1:v -map 0:a"},
        {"ogg", "-c:a libopus"},
        {"flac", "-c:a flac"},
        {"webm", "-f lavfi -i color=c=blue:s=64x64:d=12 -shortest -c:v libvpx -c:a libopus -map 1:v -map 0:a"},
    };
    for (const auto& [ext, args] : formats) x.containers.emplace_back(ext, x.dir / ("speech." + ext));
    x.video_only = x.dir / "video-only.mp4";
    x.truncated_m4a = x.dir / "truncated.m4a";
    x.truncated_flac = x.dir / "truncated.flac";
    x.corrupt = x.dir / "corrupt.mp3";
    x.unsupported = x.dir / "unsupported.wav";

    const int lock = ::open((x.dir / ".lock").c_str(), O_CREAT | O_RDWR, 0644);
    if (lock < 0 || ::flock(lock, LOCK_EX) != 0) throw std::runtime_error("cannot lock the fixture folder");
    if (!fs::exists(x.dir / ".complete")) {
      trident::testing::write_generated_whisper_model(x.model, "tiny", 7);
      run("espeak-ng -s 150 -w '" + x.speech.string() +
          "' 'Trident runs downloads, decoding and transcription as one pipeline. "
          "The device stays busy while the next file arrives.'");
      const std::string q = "ffmpeg -nostdin -loglevel error -y -i '" + x.speech.string() + "' ";
      for (std::size_t i = 0; i < formats.size(); ++i) {
        run(q + formats[i].second + " -ar 48000 '" + x.containers[i].second.string() + "'");
      }
      run("ffmpeg -nostdin -loglevel error -y -f lavfi -i color=c=red:s=64x64:d=2 -c:v libx264 -pix_fmt yuv420p '" +
          x.video_only.string() + "'");
      const fs::path fast = x.dir / "faststart.m4a";
      run(q + "-c:a aac -movflags +faststart '" + fast.string() + "'");
      truncate_copy(fast, x.truncated_m4a, 0.5);
      truncate_copy(x.dir / "speech.flac", x.truncated_flac, 0.5);
      {
        std::ofstream out(x.corrupt, std::ios::binary);
        std::uint32_t v = 12345;
        for (int i = 0; i < 20000; ++i) {
          v = v * 1664525u + 1013904223u;
          out.put(static_cast<char>(v >> 24));
        }
      }
      {
        // RIFF/WAVE with format tag 0x7777, which no codec is registered for, and 1 s of data.
        std::ofstream out(x.unsupported, std::ios::binary);
        auto u32 = [&](std::uint32_t v) { out.write(reinterpret_cast<const char*>(&v), 4); };
        auto u16 = [&](std::uint16_t v) { out.write(reinterpret_cast<const char*>(&v), 2); };
        const std::uint32_t data = 32000;
        out.write("RIFF", 4);
        u32(36 + data);
        out.write("WAVEfmt ", 8);
        u32(16);
        u16(0x7777);
        u16(1);
        u32(16000);
        u32(32000);
        u16(2);
        u16(16);
        out.write("data", 4);
        u32(data);
        out << std::string(data, '\x11');
      }
      std::ofstream(x.dir / ".complete") << "ok\n";
    }
    ::close(lock);
    // The speech's length, from its WAV header (16-bit mono PCM from espeak-ng).
    std::ifstream in(x.speech, std::ios::binary);
    std::uint32_t rate = 0, bytes = 0;
    in.seekg(24);
    in.read(reinterpret_cast<char*>(&rate), 4);
    in.seekg(40);
    in.read(reinterpret_cast<char*>(&bytes), 4);
    x.speech_seconds = static_cast<double>(bytes) / 2.0 / rate;
    return x;
  }();
  return f;
}

}  // namespace media_test
