// Lesson cell "Media pipeline: download and transcribe": the lesson's worked example with
// trident's media layer. Three clips of espeak-ng speech served with 100 ms of latency, and one
// local file, go through media::transcribe_pipeline: downloads on one session, decoding on two
// threads, two whisper states on one model loaded once, transcripts written as each finishes.
// The model is generated (real tiny dimensions, seeded random weights): no trained weights can
// be downloaded here, so the text is pseudo-words (printed at the end, to show what a transcript
// file holds); the work, and its overlap, are real. Run
// `trident tour transcribe --trace t.json` to see downloads, decoding and transcription overlap.

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "cell.hpp"
#include "trident/media/device.hpp"
#include "trident/testing/whisper_model_generator.hpp"
#include "trident/media/pipeline.hpp"
#include "trident/media/whisper_model.hpp"
#include "trident/testing/file_server.hpp"
#include "trident/testing/temp_dir.hpp"

namespace trident::lesson {

namespace {

/// `text` on one line, quoted, with line breaks, control characters and bytes outside ASCII as
/// escapes: a random-weights model can write any byte.
std::string shown_quoted(std::string_view text) {
  std::string out = "\"";
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out.push_back(ch);
    }
  }
  return out + "\"";
}

}  // namespace

std::string transcribe(output& out) {
  trident::testing::temp_dir dir("trident-tour-media");
  const auto clips = dir.path / "clips";
  std::filesystem::create_directories(clips);
  const char* const sentences[] = {"Download the files concurrently.", "Transcribe each one with Whisper.",
                                   "Save a transcript next to each file.", "Use the GPU when there is one."};
  for (int i = 0; i < 4; ++i) {
    const auto wav = clips / fmt::format("clip{}.wav", i);
    const std::string say = fmt::format("espeak-ng -w '{}' '{}'", wav.string(), sentences[i]);
    check(std::system(say.c_str()) == 0, "espeak-ng could not make the speech (apt-get install espeak-ng)");
    if (i < 3) {
      const std::string convert = fmt::format("ffmpeg -nostdin -loglevel error -y -i '{}' '{}'", wav.string(),
                                              (clips / fmt::format("clip{}.mp3", i)).string());
      check(std::system(convert.c_str()) == 0, "ffmpeg could not convert the speech (apt-get install ffmpeg)");
    }
  }
  const auto model_path = dir.path / "ggml-tiny-generated.bin";
  testing::write_generated_whisper_model(model_path, "tiny", 1);
  out.line("model: generated tiny (seeded random weights): its transcripts, printed at the end, are pseudo-words");

  const auto device = media::choose_device("auto", media::probe_devices());
  out.line("Using device: {} ({})", media::to_string(device.kind), device.reason);
  media::whisper_model model(model_path, {.device = device.kind});

  trident::testing::file_server server(clips, std::chrono::milliseconds(100));
  std::vector<std::string> sources;
  for (int i = 0; i < 3; ++i) sources.push_back(server.url(fmt::format("clip{}.mp3", i)));
  sources.push_back((clips / "clip3.wav").string());

  media::pipeline_options options;
  options.output_dir = dir.path / "out";
  std::filesystem::create_directories(options.output_dir);
  options.states = 2;
  options.transcribe.language = "en";
  options.transcribe.threads = 1;
  options.transcribe.temperature_fallback = false;
  options.transcribe.timestamps = false;
  media::transcribe_pipeline pipeline(model, options);
  const auto started = std::chrono::steady_clock::now();
  double audio = 0;
  const auto results = pipeline.run(sources, [&](const media::file_result& r) {
    out.line(
        "  {:<10} {:>4.1f} s of audio  download {:.2f} s  decode {:.3f} s  transcribe {:.2f} s ({:.1f}x realtime)  {}",
        r.media.filename().string(), r.audio_seconds, r.download_seconds, r.decode_seconds, r.transcribe_seconds,
        r.realtime(), media::to_string(r.outcome));
  });
  const double wall = seconds_since(started);
  out.line("transcripts (NAME.txt; pseudo-words, the model's weights being random):");
  for (const auto& r : results) {
    check(r.outcome == media::file_outcome::ok, "a file failed: " + r.source + ": " + r.error);
    check(std::filesystem::exists(r.outputs.at(0)), "a transcript is missing");
    std::ifstream file(r.outputs.at(0));
    std::string text{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
    while (!text.empty() && text.back() == '\n') text.pop_back();
    out.line("  {:<14} {}", r.outputs.at(0).filename().string(), shown_quoted(text));
    audio += r.audio_seconds;
  }
  return fmt::format(
      "4 files (3 downloaded) transcribed on {}: {:.1f} s of audio in {:.2f} s ({:.1f}x realtime), model loaded once",
      media::to_string(device.kind), audio, wall, audio / wall);
}

}  // namespace trident::lesson
