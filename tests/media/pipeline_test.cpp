// media::transcribe_pipeline end to end: local files and URLs, outputs, per-file errors,
// --skip-existing, stopping, and the subtitle formats.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <thread>

#include "trident/testing/file_server.hpp"
#include "media_fixtures.hpp"
#include "trident/media/pipeline.hpp"
#include "trident/testing/temp_dir.hpp"

namespace {

using namespace trident::media;
using media_test::media_fixtures;
namespace fs = std::filesystem;

pipeline_options quick_options(const fs::path& out) {
  pipeline_options o;
  o.output_dir = out;
  o.states = 2;
  o.decoders = 2;
  o.queue = 1;
  o.transcribe.language = "en";
  o.transcribe.threads = 1;
  o.transcribe.max_tokens = 8;
  o.transcribe.temperature_fallback = false;
  o.transcribe.timestamps = false;  // one window per clip (a generated model's timestamps are noise)
  return o;
}

fs::path container(const std::string& ext) {
  for (const auto& [e, p] : media_fixtures().containers) {
    if (e == ext) return p;
  }
  throw std::logic_error("no fixture " + ext);
}

std::string read(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(Pipeline, LocalFilesAndUrlsAreTranscribedNextToEachOtherAndAFailureStaysPerFile) {
  trident::testing::temp_dir out("media-pipeline");
  trident::testing::file_server server(media_fixtures().dir);
  whisper_model model(media_fixtures().model);
  auto options = quick_options(out.path);
  options.srt = true;
  transcribe_pipeline pipeline(model, options);
  const std::vector<std::string> sources = {container("wav").string(), server.url("speech.mp3"), container("webm").string(),
                                            media_fixtures().video_only.string(), server.url("missing.ogg")};
  std::size_t calls = 0;
  const auto results = pipeline.run(sources, [&](const file_result&) { ++calls; });
  ASSERT_EQ(results.size(), sources.size());
  EXPECT_EQ(calls, sources.size());
  for (std::size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(sources[i]);
    const auto& r = results[i];
    ASSERT_EQ(r.outcome, file_outcome::ok) << r.error;
    EXPECT_EQ(r.source, sources[i]);
    EXPECT_NEAR(r.audio_seconds, media_fixtures().speech_seconds, 0.15);
    ASSERT_EQ(r.outputs.size(), 3U);
    const std::string name = r.media.filename().string();
    EXPECT_EQ(r.outputs[0], out.path / (name + ".txt"));
    EXPECT_EQ(r.outputs[1], out.path / (name + ".json"));
    EXPECT_EQ(r.outputs[2], out.path / (name + ".srt"));
    const auto j = nlohmann::json::parse(read(r.outputs[1]));
    EXPECT_EQ(j["source"], sources[i]);
    EXPECT_EQ(j["model"]["sha256"], model.info().sha256);
    EXPECT_EQ(j["language"], "en");
    EXPECT_TRUE(j["segments"].is_array());
    EXPECT_EQ(j["text"].get<std::string>(), read(r.outputs[0]));
    EXPECT_GT(j["timings"]["transcribe_seconds"].get<double>(), 0);
  }
  EXPECT_EQ(results[1].media, out.path / "speech.mp3");  // downloaded into the output folder
  EXPECT_TRUE(fs::exists(out.path / "speech.mp3"));
  EXPECT_GT(results[1].download_seconds, 0);

  EXPECT_EQ(results[3].outcome, file_outcome::failed);
  EXPECT_EQ(results[3].stage, "decode");
  EXPECT_NE(results[3].error.find("no audio stream"), std::string::npos) << results[3].error;
  EXPECT_EQ(results[4].outcome, file_outcome::failed);
  EXPECT_EQ(results[4].stage, "download");
  EXPECT_NE(results[4].error.find("404"), std::string::npos) << results[4].error;
  // Nothing of the failed ones, no temporaries.
  const auto names = out.names();
  for (const auto& n : names) {
    EXPECT_EQ(n.find("video-only"), std::string::npos) << n;
    EXPECT_EQ(n.find("missing"), std::string::npos) << n;
    EXPECT_EQ(n.find(".part-"), std::string::npos) << n;
  }
  EXPECT_EQ(names.size(), 3U * 3U + 1U);  // 3 outputs for each of 3 files, and the download
}

TEST(Pipeline, SkipExistingDoesNotDownloadNorTranscribeAgain) {
  trident::testing::temp_dir out("media-pipeline");
  trident::testing::file_server server(media_fixtures().dir);
  whisper_model model(media_fixtures().model);
  auto options = quick_options(out.path);
  options.skip_existing = true;
  std::ofstream(out.path / "speech.mp3.txt") << "done before\n";
  std::ofstream(out.path / "speech.flac.txt") << "done before\n";
  transcribe_pipeline pipeline(model, options);
  const auto results = pipeline.run({server.url("speech.mp3"), container("flac").string()});
  EXPECT_EQ(results[0].outcome, file_outcome::skipped);
  EXPECT_EQ(results[1].outcome, file_outcome::skipped);
  EXPECT_EQ(server.requests(), 0U);
  EXPECT_EQ(read(out.path / "speech.mp3.txt"), "done before\n");
}

TEST(Pipeline, StoppedBeforeItStartsWritesNothing) {
  trident::testing::temp_dir out("media-pipeline");
  trident::testing::file_server server(media_fixtures().dir);
  whisper_model model(media_fixtures().model);
  transcribe_pipeline pipeline(model, quick_options(out.path));
  pipeline.stop();
  const auto results = pipeline.run({container("wav").string(), server.url("speech.ogg")});
  for (const auto& r : results) EXPECT_EQ(r.outcome, file_outcome::cancelled);
  EXPECT_TRUE(out.names().empty());
  EXPECT_EQ(server.requests(), 0U);
}

TEST(Pipeline, StopDuringTheRunKeepsFinishedTranscriptsAndNoPartialOnes) {
  trident::testing::temp_dir out("media-pipeline");
  whisper_model model(media_fixtures().model);
  auto options = quick_options(out.path);
  options.states = 1;
  transcribe_pipeline pipeline(model, options);
  std::vector<std::string> sources;
  for (const auto& [ext, path] : media_fixtures().containers) sources.push_back(path.string());
  const auto results = pipeline.run(sources, [&](const file_result& r) {
    if (r.outcome == file_outcome::ok) pipeline.stop();  // after the first finished file
  });
  std::size_t ok = 0;
  for (const auto& r : results) {
    EXPECT_TRUE(r.outcome == file_outcome::ok || r.outcome == file_outcome::cancelled) << to_string(r.outcome) << " " << r.error;
    if (r.outcome == file_outcome::ok) {
      ++ok;
      EXPECT_TRUE(fs::exists(r.outputs[0]));
      EXPECT_TRUE(fs::exists(r.outputs[1]));
    }
  }
  EXPECT_GE(ok, 1U);
  EXPECT_LT(ok, sources.size());
  // Every file in the folder belongs to a finished transcript: two per ok file.
  EXPECT_EQ(out.names().size(), 2 * ok);
}

TEST(Pipeline, StopDuringDownloadsLeavesNoFileAndReportsEveryUrl) {
  trident::testing::temp_dir out("media-pipeline");
  trident::testing::file_server server(media_fixtures().dir, std::chrono::milliseconds(3000));
  whisper_model model(media_fixtures().model);
  auto options = quick_options(out.path);
  options.downloads = 2;
  transcribe_pipeline pipeline(model, options);
  const std::vector<std::string> sources = {server.url("speech.mp3"), server.url("speech.ogg"), server.url("speech.flac")};
  std::thread stopper([&] {
    while (server.requests() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    pipeline.stop();
  });
  const auto results = pipeline.run(sources);  // a download that finished would be transcribed: ok
  stopper.join();
  ASSERT_EQ(results.size(), 3U);
  for (std::size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].source, sources[i]);
    EXPECT_EQ(results[i].outcome, file_outcome::cancelled);
  }
  EXPECT_TRUE(out.names().empty());
}

TEST(Pipeline, SubtitleFormats) {
  transcription t;
  t.segments = {{0.0, 2.5, " Hello there."}, {2.5, 3661.001, " Second line."}};
  EXPECT_EQ(to_srt(t), "1\n00:00:00,000 --> 00:00:02,500\nHello there.\n\n2\n00:00:02,500 --> 01:01:01,001\nSecond line.\n\n");
  EXPECT_EQ(to_vtt(t), "WEBVTT\n\n00:00:00.000 --> 00:00:02.500\nHello there.\n\n00:00:02.500 --> 01:01:01.001\nSecond line.\n\n");
  EXPECT_EQ(t.text(), "Hello there.\nSecond line.\n");
}

TEST(Pipeline, UrlsAreRecognised) {
  EXPECT_TRUE(is_url("https://example.com/a.mp3"));
  EXPECT_TRUE(is_url("http://127.0.0.1:8000/a.mp3"));
  EXPECT_FALSE(is_url("a.mp3"));
  EXPECT_FALSE(is_url("/tmp/http://a"));
}

}  // namespace
