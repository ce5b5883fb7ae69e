// The `media` suite of `trident bench`: the lesson's media example on a batch of short clips
// served by a loopback server with internet-like latency, three ways:
//
//   trident       media::transcribe_pipeline: downloads, decoding and transcription overlap; the
//                 model is loaded once per run, several whisper states share it.
//   lesson        the lesson's structure: download all (one session, 8 at a time), then load the
//                 model and transcribe one file at a time in this process.
//   per_file_cli  download all the same way, then whisper.cpp's own whisper-cli launched once per
//                 file (how wrappers such as nodejs-whisper run it): a model load per file.
//
// Method
//   1. Setup (untimed): 48 clips (TRIDENT_BENCH_MEDIA_CLIPS) of 3-10 s made by espeak-ng and ffmpeg (mp3), a generated model
//      (tiny: batch_cpu; base: batch_cpu_base), the file server (100 ms before each answer).
//   2. Every implementation does the same work per file: greedy decoding without fallback, no
//      timestamps, language given; the generated model ends decoding after a token or two
//      (trident/testing/whisper_model_generator.hpp), so whisper-cli, which has no token budget, decodes as much.
//      Each run downloads into, and writes transcripts into, a fresh folder; model loading is
//      inside the timing for all three.
//   3. The shared runner (runner.hpp): one untimed warm-up, then `repeat` interleaved rounds;
//      medians. Rows: files/s and x realtime (audio seconds per wall second).
//   4. batch_cuda runs where the build has CUDA and ggml sees a device.

#include <fmt/format.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_suites.hpp"
#include "report.hpp"
#include "runner.hpp"
#include "trident/aio/run.hpp"
#include "trident/core/atomic_file.hpp"
#include "trident/http/fetch.hpp"
#include "trident/media/audio.hpp"
#include "trident/media/device.hpp"
#include "trident/testing/whisper_model_generator.hpp"
#include "trident/media/pipeline.hpp"
#include "trident/media/whisper_model.hpp"
#include "trident/testing/file_server.hpp"
#include "trident/testing/temp_dir.hpp"

namespace trident::bench {

namespace {

namespace fs = std::filesystem;
/// 48 clips, like the lesson's batch of samples; TRIDENT_BENCH_MEDIA_CLIPS=N for a shorter run.
int clip_count_from_environment() {
  const char* text = std::getenv("TRIDENT_BENCH_MEDIA_CLIPS");
  const int n = text != nullptr ? std::atoi(text) : 0;
  return n > 0 ? n : 48;
}
const int clip_count = clip_count_from_environment();

const char* const sentences[] = {
    "Download the files first.",
    "The event loop waits for many sockets at once, while threads do the heavy work.",
    "A bounded channel between two stages keeps memory flat when one of them is slow.",
    "Whisper turns speech into text.",
    ("Each file is decoded to sixteen kilohertz mono samples before the model sees it, and its transcript is "
     "saved beside it."),
    "Use the GPU when there is one.",
    "The lesson downloads everything and then transcribes one file at a time, so the device waits for the network.",
    "Pipelines overlap the stages.",
};

struct batch {
  testing::temp_dir dir{"trident-bench-media"};
  fs::path model;
  std::vector<std::string> urls;
  double audio_seconds = 0;
  std::unique_ptr<testing::file_server> server;
  int run = 0;
  fs::path fresh_folder() {
    const fs::path p = dir.path / fmt::format("run-{}", run++);
    fs::create_directories(p);
    return p;
  }
};

void shell(const std::string& command) {
  if (std::system(command.c_str()) != 0) throw unavailable_error("setup command failed: " + command);
}

void make_batch(batch& b, const std::string& size) {
  const fs::path clips = b.dir.path / "clips";
  fs::create_directories(clips);
  for (std::size_t i = 0; i < std::size(sentences); ++i) {
    const auto wav = clips / fmt::format("s{}.wav", i);
    shell(fmt::format("espeak-ng -s 140 -w '{}' '{}'", wav.string(), sentences[i]));
    shell(fmt::format("ffmpeg -nostdin -loglevel error -y -i '{}' -ar 44100 -b:a 96k '{}'", wav.string(),
                      (clips / fmt::format("s{}.mp3", i)).string()));
  }
  for (int i = 0; i < clip_count; ++i) {
    const auto name = fmt::format("clip-{:02}.mp3", i);
    fs::copy_file(clips / fmt::format("s{}.mp3", static_cast<std::size_t>(i) % std::size(sentences)), clips / name);
    b.audio_seconds += media::decode_audio(clips / name).seconds();
  }
  b.model = b.dir.path / fmt::format("ggml-{}-generated.bin", size);
  testing::write_generated_whisper_model(b.model, size, 1);
  b.server = std::make_unique<testing::file_server>(clips, std::chrono::milliseconds(100));
  for (int i = 0; i < clip_count; ++i) b.urls.push_back(b.server->url(fmt::format("clip-{:02}.mp3", i)));
}

std::vector<fs::path> download_all(const std::vector<std::string>& urls, const fs::path& folder) {
  std::vector<http::fetch_item> items;
  for (const auto& u : urls) items.push_back({u, ""});
  http::fetch_options options;
  options.output_dir = folder;
  options.concurrency = 8;
  auto main = [&]() -> aio::task<std::vector<http::fetch_result>> {
    http::session session;
    auto results = co_await http::fetch_all(session, std::move(items), options);
    co_return results;
  };
  const auto results = aio::run(main());
  std::vector<fs::path> paths;
  for (const auto& r : results) {
    if (!r.succeeded()) throw std::runtime_error("benchmark download failed: " + r.url + ": " + r.error);
    paths.push_back(r.path);
  }
  return paths;
}

std::vector<double> rates(const batch& b, double seconds) { return {clip_count / seconds, b.audio_seconds / seconds}; }

std::vector<double> run_trident(batch& b, media::device_kind device, int cores) {
  const fs::path out = b.fresh_folder();
  stopwatch clock;
  media::whisper_model model(b.model, {.device = device});
  media::pipeline_options o;
  o.output_dir = out;
  o.downloads = 8;
  o.decoders = 2;
  o.states = device == media::device_kind::cuda ? 4 : 2;
  o.queue = 2;
  o.transcribe = testing::generated_model_work(std::max(1, cores / static_cast<int>(o.states)));
  media::transcribe_pipeline pipeline(model, o);
  const auto results = pipeline.run(b.urls);
  const double s = clock.seconds();
  for (const auto& r : results) {
    if (r.outcome != media::file_outcome::ok)
      throw std::runtime_error("benchmark file failed: " + r.source + ": " + r.error);
  }
  fs::remove_all(out);
  return rates(b, s);
}

std::vector<double> run_lesson(batch& b, media::device_kind device, int cores) {
  const fs::path out = b.fresh_folder();
  stopwatch clock;
  const auto files = download_all(b.urls, out);
  media::whisper_model model(b.model, {.device = device});
  auto state = model.new_state();
  for (const auto& f : files) {
    const auto audio = media::decode_audio(f);
    const auto t = state.transcribe(audio.samples, testing::generated_model_work(cores));
    atomic_file txt(f.string() + ".txt", {.if_exists = atomic_file::existing::replace});
    txt.write(t.text());
    txt.commit();
  }
  const double s = clock.seconds();
  fs::remove_all(out);
  return rates(b, s);
}

std::vector<double> run_per_file_cli(batch& b, media::device_kind device, int cores) {
#ifdef TRIDENT_BENCH_WHISPER_CLI
  const fs::path out = b.fresh_folder();
  stopwatch clock;
  const auto files = download_all(b.urls, out);
  for (const auto& f : files) {
    const auto r = run_command(
        fmt::format("'{}' -m '{}' -f '{}' -t {} -l en -nf -nt -bs 1 -bo 1 -np -otxt -of '{}' {} 2>/dev/null",
                    TRIDENT_BENCH_WHISPER_CLI, b.model.string(), f.string(), cores, f.string(),
                    device == media::device_kind::cuda ? "" : "-ng"));
    if (!r.ok) throw unavailable_error("whisper-cli failed on " + f.string());
  }
  const double s = clock.seconds();
  fs::remove_all(out);
  return rates(b, s);
#else
  (void)b, (void)device, (void)cores;
  throw unavailable_error("whisper-cli was not found when this build was configured");
#endif
}

}  // namespace

int run_media_suite(const bench_options& options) {
  suite_runner runner("media", options, std::chrono::milliseconds(200));
  const int cores = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  const auto inventory = media::probe_devices();
  struct case_spec {
    std::string name;
    std::string size;
    media::device_kind device;
  };
  std::vector<case_spec> specs = {{"batch_cpu", "tiny", media::device_kind::cpu},
                                  {"batch_cpu_base", "base", media::device_kind::cpu}};
  if (inventory.build_has_cuda && inventory.cuda_devices > 0) {
    specs.push_back({"batch_cuda", "base", media::device_kind::cuda});
  } else {
    runner.note(inventory.build_has_cuda ? "batch_cuda: no CUDA device present"
                                         : "batch_cuda: this build has no CUDA backend");
  }
  std::vector<std::shared_ptr<batch>> batches;
  for (const auto& spec : specs) {
    auto b = std::make_shared<batch>();
    batches.push_back(b);
    bench_case bc{{{spec.name, "files/s", true}, {spec.name + "_xrt", "x realtime", true}}, "per_file_cli", {}, {}, {}};
    bc.setup = [b, size = spec.size] { make_batch(*b, size); };
    bc.teardown = [b] { b->server.reset(); };
    const auto device = spec.device;
    bc.impls.push_back(
        std::make_shared<in_process_impl>("trident", [b, device, cores] { return run_trident(*b, device, cores); }));
    bc.impls.push_back(
        std::make_shared<in_process_impl>("lesson", [b, device, cores] { return run_lesson(*b, device, cores); }));
    bc.impls.push_back(std::make_shared<in_process_impl>(
        "per_file_cli", [b, device, cores] { return run_per_file_cli(*b, device, cores); }));
    runner.add(std::move(bc));
  }
  runner.note(fmt::format(
      "{} clips of 3-10 s (mp3), 100 ms latency per request, {} cores; generated models (meaningless text); "
      "median of {} round(s)",
      clip_count, cores, options.repeat));
  suite_results out = runner.run();
  return report_suite_results(out, options);
}

}  // namespace trident::bench
