// The transcription stage of `trident transcribe` on its own, for a machine that has a GPU but
// none of the libraries the rest of Trident needs (FFmpeg, libcurl, fmt): tools/gpu_check.sh
// builds it there beside whisper.cpp and runs it.
//
//   batch_transcribe --clips DIR --model FILE [--generate tiny|base [--generate-only yes]]
//                    --device auto|cpu|cuda --states N --threads T
//
// - Model: FILE, or with --generate a model of that size with seeded random weights written to
//   FILE first (trident/testing/whisper_model_generator.hpp: real dimensions and costs,
//   meaningless text), as the media benchmarks use where no real weights can be downloaded;
//   with --generate-only, nothing else is done.
// - Clips: DIR's *.wav files, 16 kHz mono 16-bit PCM (tools/gpu_check.sh makes them where FFmpeg
//   is: what `trident transcribe` decodes from compressed audio first).
// - The work: the model is loaded once (media::whisper_model), N states share it, and N threads
//   take the clips from one counter, each transcribing with its own state — the transcription
//   stage of media::transcribe_pipeline, with the same options as `trident bench media` (English,
//   greedy decoding once, no timestamps). Every clip runs once first, untimed, to warm up.
// - Prints one JSON object: the device ggml reports, clips, audio seconds, load seconds, wall
//   seconds of the timed batch, files per second and times realtime (audio seconds per wall
//   second). Exits 1 on any failure, with the reason on stderr.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "trident/core/json_string.hpp"
#include "trident/media/device.hpp"
#include "trident/media/whisper_model.hpp"
#include "trident/testing/whisper_model_generator.hpp"

namespace fs = std::filesystem;
namespace media = trident::media;

namespace {

struct clip {
  std::string name;
  std::vector<float> samples;
};

std::uint32_t le32(const char* p) {
  std::uint32_t v = 0;
  std::memcpy(&v, p, sizeof v);
  return v;
}
std::uint16_t le16(const char* p) {
  std::uint16_t v = 0;
  std::memcpy(&v, p, sizeof v);
  return v;
}

/// Reads a RIFF/WAVE file of 16 kHz mono 16-bit PCM; throws for anything else.
clip read_wav(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto fail = [&](const std::string& why) { return std::runtime_error(path.string() + ": " + why); };
  if (bytes.size() < 12 || bytes.compare(0, 4, "RIFF") != 0 || bytes.compare(8, 4, "WAVE") != 0)
    throw fail("not a RIFF/WAVE file");
  bool format_ok = false;
  for (std::size_t at = 12; at + 8 <= bytes.size();) {
    const std::string id = bytes.substr(at, 4);
    const std::size_t size = le32(bytes.data() + at + 4);
    const std::size_t body = at + 8;
    if (body + size > bytes.size()) throw fail("truncated chunk '" + id + "'");
    if (id == "fmt ") {
      if (size < 16) throw fail("short fmt chunk");
      const char* f = bytes.data() + body;
      format_ok = le16(f) == 1 && le16(f + 2) == 1 && le32(f + 4) == 16000 && le16(f + 14) == 16;
      if (!format_ok) throw fail("not 16 kHz mono 16-bit PCM");
    } else if (id == "data") {
      if (!format_ok) throw fail("data before the fmt chunk");
      clip c{path.filename().string(), std::vector<float>(size / 2)};
      for (std::size_t i = 0; i < c.samples.size(); ++i) {
        std::int16_t s = 0;
        std::memcpy(&s, bytes.data() + body + 2 * i, sizeof s);
        c.samples[i] = static_cast<float>(s) / 32768.0f;
      }
      return c;
    }
    at = body + size + (size & 1);
  }
  throw fail("no data chunk");
}

struct arguments {
  fs::path clips;
  fs::path model;
  std::string generate;  ///< A model size to generate into `model` first, or empty.
  bool generate_only = false;
  std::string device = "auto";
  int states = 1;
  int threads = 1;
};

arguments parse(int argc, char** argv) {
  arguments a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) throw std::invalid_argument(flag + " needs a value");
    const std::string value = argv[++i];
    if (flag == "--clips") {
      a.clips = value;
    } else if (flag == "--model") {
      a.model = value;
    } else if (flag == "--generate") {
      a.generate = value;
    } else if (flag == "--generate-only") {
      a.generate_only = value == "yes";
    } else if (flag == "--device") {
      a.device = value;
    } else if (flag == "--states") {
      a.states = std::stoi(value);
    } else if (flag == "--threads") {
      a.threads = std::stoi(value);
    } else {
      throw std::invalid_argument("unknown flag " + flag);
    }
  }
  if (a.clips.empty() || a.model.empty()) throw std::invalid_argument("--clips and --model are required");
  if (a.states < 1 || a.threads < 1) throw std::invalid_argument("--states and --threads must be at least 1");
  return a;
}

/// Transcribes every clip once with `states` threads; returns the wall seconds.
double run_batch(std::vector<media::whisper_model::state>& states, const std::vector<clip>& clips, int threads) {
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_lock;
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (auto& state : states) {
    workers.emplace_back([&] {
      try {
        for (std::size_t i; !failed.load() && (i = next.fetch_add(1)) < clips.size();) {
          (void)state.transcribe(clips[i].samples, trident::testing::generated_model_work(threads));
        }
      } catch (...) {
        failed = true;
        const std::lock_guard lock(error_lock);
        if (!error) error = std::current_exception();
      }
    });
  }
  for (auto& w : workers) w.join();
  if (error) std::rethrow_exception(error);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const arguments a = parse(argc, argv);
    if (!a.generate.empty()) trident::testing::write_generated_whisper_model(a.model, a.generate, 1);
    if (a.generate_only) return 0;
    std::vector<fs::path> paths;
    for (const auto& e : fs::directory_iterator(a.clips)) {
      if (e.path().extension() == ".wav") paths.push_back(e.path());
    }
    std::sort(paths.begin(), paths.end());
    if (paths.empty()) throw std::runtime_error("no .wav clips in " + a.clips.string());
    std::vector<clip> clips;
    double audio_seconds = 0;
    for (const auto& p : paths) {
      clips.push_back(read_wav(p));
      audio_seconds += static_cast<double>(clips.back().samples.size()) / 16000.0;
    }

    const auto choice = media::choose_device(a.device, media::probe_devices());
    media::whisper_model model(a.model, {.device = choice.kind});
    std::vector<media::whisper_model::state> states;
    for (int i = 0; i < a.states; ++i) states.push_back(model.new_state());

    (void)run_batch(states, clips, a.threads);  // warm-up: kernels, caches, allocations
    const double wall = run_batch(states, clips, a.threads);
    std::printf(
        "{\"device\": \"%s\", \"reason\": %s, \"states\": %d, \"threads\": %d, \"clips\": %zu, "
        "\"audio_seconds\": %.3f, \"load_seconds\": %.3f, \"wall_seconds\": %.3f, \"files_per_second\": %.3f, "
        "\"x_realtime\": %.2f}\n",
        media::to_string(choice.kind), trident::json_string(choice.reason).c_str(), a.states, a.threads, clips.size(),
        audio_seconds, model.load_seconds(), wall, static_cast<double>(clips.size()) / wall, audio_seconds / wall);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "batch_transcribe: %s\n", e.what());
    return 1;
  }
}
