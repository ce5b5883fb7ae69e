// Links trident::media (FFmpeg, whisper.cpp and ggml through it): decodes a WAV file this program
// writes, asks ggml for its devices, and has whisper_model refuse a file that is not a model.
#include <trident/media/audio.hpp>
#include <trident/media/device.hpp>
#include <trident/media/errors.hpp>
#include <trident/media/whisper_model.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

void put(std::ofstream& out, std::uint32_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.put(static_cast<char>((value >> (8 * i)) & 0xff));
}

// One second of a 440 Hz tone, 16-bit mono PCM at 16 kHz.
void write_wav(const std::filesystem::path& path) {
  constexpr std::uint32_t rate = 16000;
  constexpr std::uint32_t samples = rate;
  std::ofstream out(path, std::ios::binary);
  out << "RIFF";
  put(out, 36 + samples * 2, 4);
  out << "WAVEfmt ";
  put(out, 16, 4);
  put(out, 1, 2);  // PCM
  put(out, 1, 2);  // mono
  put(out, rate, 4);
  put(out, rate * 2, 4);
  put(out, 2, 2);
  put(out, 16, 2);
  out << "data";
  put(out, samples * 2, 4);
  for (std::uint32_t i = 0; i < samples; ++i) {
    const double value = 0.5 * std::sin(2 * 3.141592653589793 * 440 * i / rate);
    put(out, static_cast<std::uint16_t>(static_cast<std::int16_t>(value * 32767)), 2);
  }
}

}  // namespace

int main() {
  namespace media = trident::media;
  const auto path =
      std::filesystem::temp_directory_path() / ("trident-media-consumer-" + std::to_string(::getpid()) + ".wav");
  write_wav(path);
  const media::decoded_audio audio = media::decode_audio(path);
  float peak = 0;
  for (float s : audio.samples) peak = std::fmax(peak, std::fabs(s));
  const media::device_inventory devices = media::probe_devices();
  bool refused = false;
  try {
    media::whisper_model model(path);
  } catch (const media::model_error& e) {
    refused = true;
    std::printf("trident::media: whisper_model refused the WAV file: %s\n", e.what());
  }
  std::filesystem::remove(path);
  std::printf("trident::media: %zu samples (%.2f s) of %s in %s, peak %.2f; CUDA devices: %d\n", audio.samples.size(),
              audio.seconds(), audio.codec.c_str(), audio.container.c_str(), peak, devices.cuda_devices);
  const bool decoded = audio.samples.size() == 16000 && audio.codec == "pcm_s16le" && peak > 0.45F && peak < 0.55F;
  return decoded && refused && devices.cuda_devices >= 0 ? 0 : 1;
}
