// media::transcribe_pipeline end to end: local files and URLs, outputs, per-file errors,
// --skip-existing, stopping, and the subtitle formats.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cctype>
#include <chrono>
#include <fstream>
#include <stdexcept>
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
  const std::vector<std::string> sources = {container("wav").string(), server.url("speech.mp3"),
                                            container("webm").string(), media_fixtures().video_only.string(),
                                            server.url("missing.ogg")};
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
    // Without timestamps: one segment, the whole clip (whisper's own times were -1007.28 to 30).
    ASSERT_EQ(j["segments"].size(), 1U) << j["segments"];
    EXPECT_EQ(j["segments"][0]["start"].get<double>(), 0.0);
    EXPECT_DOUBLE_EQ(j["segments"][0]["end"].get<double>(), r.audio_seconds);
    // "1\n00:00:00,000 --> 00:00:SS,mmm\n": one cue from the start (no std::regex: g++ 12 warns
    // inside it under the sanitizers).
    const std::string srt = read(r.outputs[2]);
    const std::string head = "1\n00:00:00,000 --> 00:00:";
    ASSERT_GE(srt.size(), head.size() + 7) << srt;
    EXPECT_EQ(srt.substr(0, head.size()), head) << srt;
    const std::string end = srt.substr(head.size(), 7);  // SS,mmm and the newline
    EXPECT_TRUE(std::isdigit(static_cast<unsigned char>(end[0])) && std::isdigit(static_cast<unsigned char>(end[1])) &&
                end[2] == ',' && std::isdigit(static_cast<unsigned char>(end[3])) &&
                std::isdigit(static_cast<unsigned char>(end[4])) && std::isdigit(static_cast<unsigned char>(end[5])) &&
                end[6] == '\n')
        << srt;
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
  for (const char* name : {"speech.mp3", "speech.flac"}) {
    std::ofstream(out.path / (std::string(name) + ".txt")) << "done before\n";
    std::ofstream(out.path / (std::string(name) + ".json")) << "{}\n";
  }
  transcribe_pipeline pipeline(model, options);
  const auto results = pipeline.run({server.url("speech.mp3"), container("flac").string()});
  EXPECT_EQ(results[0].outcome, file_outcome::skipped);
  EXPECT_EQ(results[1].outcome, file_outcome::skipped);
  EXPECT_EQ(server.requests(), 0U);
  EXPECT_EQ(read(out.path / "speech.mp3.txt"), "done before\n");
}

// An output asked for and missing (here the .srt) means the input is not done: a rerun that adds
// --format srt must write it, not skip the file because its .txt exists.
TEST(Pipeline, SkipExistingSkipsOnlyWhenEveryOutputAskedForExists) {
  trident::testing::temp_dir out("media-pipeline");
  whisper_model model(media_fixtures().model);
  auto options = quick_options(out.path);
  options.skip_existing = true;
  options.srt = true;
  std::ofstream(out.path / "speech.flac.txt") << "done before\n";
  std::ofstream(out.path / "speech.flac.json") << "{}\n";
  transcribe_pipeline pipeline(model, options);
  const auto results = pipeline.run({container("flac").string()});
  ASSERT_EQ(results[0].outcome, file_outcome::ok) << to_string(results[0].outcome) << " " << results[0].error;
  EXPECT_TRUE(fs::exists(out.path / "speech.flac.srt"));
  EXPECT_NE(read(out.path / "speech.flac.txt"), "done before\n");
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
  // What the progress line shows: cancelled apart, not failed.
  EXPECT_EQ(pipeline.progress().finished, 2U);
  EXPECT_EQ(pipeline.progress().cancelled, 2U);
  EXPECT_EQ(pipeline.progress().failed, 0U);
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
    EXPECT_TRUE(r.outcome == file_outcome::ok || r.outcome == file_outcome::cancelled)
        << to_string(r.outcome) << " " << r.error;
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
  const std::vector<std::string> sources = {server.url("speech.mp3"), server.url("speech.ogg"),
                                            server.url("speech.flac")};
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
  EXPECT_EQ(to_srt(t),
            "1\n00:00:00,000 --> 00:00:02,500\nHello there.\n\n2\n00:00:02,500 --> 01:01:01,001\nSecond line.\n\n");
  EXPECT_EQ(to_vtt(t),
            "WEBVTT\n\n00:00:00.000 --> 00:00:02.500\nHello there.\n\n00:00:02.500 --> 01:01:01.001\nSecond line.\n\n");
  EXPECT_EQ(t.text(), "Hello there.\nSecond line.\n");
}

TEST(Pipeline, SubtitleFormatsAndTheJsonDocumentRefuseImpossibleTimes) {
  transcription negative;
  negative.segments = {{-1007.28, 30.0, " Hello."}};
  EXPECT_THROW((void)to_srt(negative), std::invalid_argument);
  EXPECT_THROW((void)to_vtt(negative), std::invalid_argument);
  EXPECT_THROW((void)transcript_json(negative, file_result{}, "m.bin", model_info{}), std::invalid_argument);
  transcription backwards;
  backwards.segments = {{2.0, 1.0, " Hello."}};
  EXPECT_THROW((void)to_srt(backwards), std::invalid_argument);
  EXPECT_THROW((void)to_vtt(backwards), std::invalid_argument);
  EXPECT_THROW((void)transcript_json(backwards, file_result{}, "m.bin", model_info{}), std::invalid_argument);
  transcription fine;
  fine.segments = {{0.0, 2.5, " Hello."}};
  const auto j = nlohmann::json::parse(transcript_json(fine, file_result{}, "m.bin", model_info{}));
  EXPECT_EQ(j["segments"][0]["start"], 0.0);
  EXPECT_EQ(j["segments"][0]["end"], 2.5);
  EXPECT_EQ(j["text"], "Hello.\n");
}

// plan_inputs: the names of every input's files, planned together. Pure: no model, no files
// needed (paths are resolved as far as they exist).
std::vector<fs::path> media_of(const std::vector<input_plan>& plans) {
  std::vector<fs::path> out;
  for (const auto& p : plans) out.push_back(p.media);
  return out;
}
std::vector<fs::path> transcripts_of(const std::vector<input_plan>& plans) {
  std::vector<fs::path> out;
  for (const auto& p : plans) out.push_back(p.output("txt"));
  return out;
}

TEST(PlanInputs, LocalFilesOfOneNameGetNumberedOutputsInTheOutputFolder) {
  trident::testing::temp_dir dir("media-plan");
  const auto plans =
      plan_inputs({(dir.path / "d1/a.mp3").string(), (dir.path / "d2/a.mp3").string()}, dir.path / "out");
  EXPECT_EQ(media_of(plans), (std::vector<fs::path>{dir.path / "d1/a.mp3", dir.path / "d2/a.mp3"}));  // inputs as given
  EXPECT_EQ(transcripts_of(plans), (std::vector<fs::path>{dir.path / "out/a.mp3.txt", dir.path / "out/a-1.mp3.txt"}));
  EXPECT_EQ(plans[1].output("json"), dir.path / "out/a-1.mp3.json");
}

TEST(PlanInputs, LocalFilesOfOneNameWithoutOutputFolderStayApartUnlessTheyAreTheSameFile) {
  trident::testing::temp_dir dir("media-plan");
  fs::create_directories(dir.path / "d1");
  const auto plans = plan_inputs(
      {(dir.path / "d1/a.mp3").string(), (dir.path / "d2/a.mp3").string(), (dir.path / "d1/../d1/a.mp3").string()}, "");
  EXPECT_EQ(transcripts_of(plans), (std::vector<fs::path>{dir.path / "d1/a.mp3.txt", dir.path / "d2/a.mp3.txt",
                                                          dir.path / "d1/../d1/a-1.mp3.txt"}));
}

TEST(PlanInputs, ADownloadNeverReplacesALocalInputNorSharesItsOutputs) {
  trident::testing::temp_dir dir("media-plan");
  // -o DIR holding the local input: the download would be DIR/a.mp3, the input itself.
  auto plans = plan_inputs({"http://h/a.mp3", (dir.path / "a.mp3").string()}, dir.path);
  EXPECT_EQ(media_of(plans), (std::vector<fs::path>{dir.path / "a-1.mp3", dir.path / "a.mp3"}));
  EXPECT_EQ(transcripts_of(plans), (std::vector<fs::path>{dir.path / "a-1.mp3.txt", dir.path / "a.mp3.txt"}));
  EXPECT_TRUE(plans[0].download);
  EXPECT_FALSE(plans[1].download);
  // -o elsewhere: the download is no input, but the transcripts would be one file.
  plans = plan_inputs({(dir.path / "media/a.mp3").string(), "http://h/a.mp3"}, dir.path / "out");
  EXPECT_EQ(media_of(plans), (std::vector<fs::path>{dir.path / "media/a.mp3", dir.path / "out/a-1.mp3"}));
  EXPECT_EQ(transcripts_of(plans), (std::vector<fs::path>{dir.path / "out/a.mp3.txt", dir.path / "out/a-1.mp3.txt"}));
  // No -o: downloads go to ".", where a relative local input of that name lives.
  plans = plan_inputs({"a.mp3", "http://h/a.mp3"}, "");
  EXPECT_EQ(media_of(plans), (std::vector<fs::path>{"a.mp3", fs::path(".") / "a-1.mp3"}));
  EXPECT_EQ(transcripts_of(plans), (std::vector<fs::path>{fs::path(".") / "a.mp3.txt", fs::path(".") / "a-1.mp3.txt"}));
}

TEST(PlanInputs, UrlsOfOneNameAreNumberedWithAndWithoutOutputFolder) {
  trident::testing::temp_dir dir("media-plan");
  auto plans = plan_inputs({"http://h/x/a.mp3", "https://g/y/a.mp3", "http://h/x/a.mp3"}, dir.path);
  EXPECT_EQ(media_of(plans), (std::vector<fs::path>{dir.path / "a.mp3", dir.path / "a-1.mp3", dir.path / "a-2.mp3"}));
  EXPECT_EQ(transcripts_of(plans),
            (std::vector<fs::path>{dir.path / "a.mp3.txt", dir.path / "a-1.mp3.txt", dir.path / "a-2.mp3.txt"}));
  plans = plan_inputs({"http://h/x/a.mp3", "http://g/y/a.mp3"}, "");
  EXPECT_EQ(media_of(plans), (std::vector<fs::path>{fs::path(".") / "a.mp3", fs::path(".") / "a-1.mp3"}));
  // A URL whose name is another input's transcript: neither is replaced.
  plans = plan_inputs({(dir.path / "a.mp3").string(), "http://h/a.mp3.txt"}, dir.path);
  EXPECT_EQ(media_of(plans)[1], dir.path / "a.mp3-1.txt");
}

TEST(PlanInputs, TheSameNamesOnEveryRunWhateverTheFolderHolds) {
  trident::testing::temp_dir dir("media-plan");
  const std::vector<std::string> sources = {(dir.path / "d1/a.mp3").string(), (dir.path / "d2/a.mp3").string(),
                                            "http://h/a.mp3"};
  const auto before = plan_inputs(sources, dir.path / "out");
  fs::create_directories(dir.path / "out");
  for (const auto& p : before) {
    for (const char* ext : {"txt", "json"}) std::ofstream(p.output(ext)) << "from the run before\n";
    if (p.download) std::ofstream(p.media) << "downloaded before\n";
  }
  const auto after = plan_inputs(sources, dir.path / "out");
  EXPECT_EQ(media_of(after), media_of(before));
  EXPECT_EQ(transcripts_of(after), transcripts_of(before));
  EXPECT_EQ(transcripts_of(after)[2], dir.path / "out/a-2.mp3.txt");
}

TEST(Pipeline, UrlsAreRecognised) {
  EXPECT_TRUE(is_url("https://example.com/a.mp3"));
  EXPECT_TRUE(is_url("http://127.0.0.1:8000/a.mp3"));
  EXPECT_FALSE(is_url("a.mp3"));
  EXPECT_FALSE(is_url("/tmp/http://a"));
}

}  // namespace
