// Model files: the generator's output, the checks made before any work, and whisper.cpp running
// a generated model through media::whisper_model.

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "media_fixtures.hpp"
#include "trident/core/errors.hpp"
#include "trident/media/audio.hpp"
#include "trident/media/errors.hpp"
#include "trident/media/model_file.hpp"
#include "trident/testing/whisper_model_generator.hpp"
#include "trident/media/whisper_model.hpp"
#include "trident/testing/temp_dir.hpp"

namespace {

using namespace trident::media;
using media_test::media_fixtures;

TEST(ModelFile, GeneratedTinyHasThePublishedDimensions) {
  const auto info = inspect_model(media_fixtures().model);
  EXPECT_EQ(info.size_name, "tiny");
  EXPECT_EQ(info.hparams.n_vocab, 51865);
  EXPECT_EQ(info.hparams.n_audio_state, 384);
  EXPECT_EQ(info.hparams.n_audio_layer, 4);
  EXPECT_EQ(info.hparams.n_text_layer, 4);
  EXPECT_EQ(info.hparams.n_mels, 80);
  EXPECT_EQ(info.tensors, 11 + 15 * 4 + 24 * 4);
  EXPECT_EQ(info.sha256.size(), 64U);
}

TEST(ModelFile, SameSeedSameFileOtherSeedOtherFile) {
  trident::testing::temp_dir dir("media-model");
  trident::testing::write_generated_whisper_model(dir.path / "a.bin", "tiny", 7);
  trident::testing::write_generated_whisper_model(dir.path / "b.bin", "tiny", 8);
  EXPECT_EQ(inspect_model(dir.path / "a.bin").sha256, inspect_model(media_fixtures().model).sha256);
  EXPECT_NE(inspect_model(dir.path / "b.bin").sha256, inspect_model(dir.path / "a.bin").sha256);
}

/// Runs trident_make_whisper_model with `args`: its exit code, stdout and stderr.
struct tool_run {
  int exit_code = -1;
  std::string out, err;
};
tool_run make_model_tool(const std::string& args, const std::filesystem::path& dir) {
  const auto out = dir / "stdout", err = dir / "stderr";
  const std::string command =
      "'" + std::string(TRIDENT_MAKE_MODEL_PATH) + "' " + args + " >'" + out.string() + "' 2>'" + err.string() + "'";
  const int status = std::system(command.c_str());
  auto read = [](const std::filesystem::path& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read(out), read(err)};
}

TEST(ModelFile, GeneratorHelpGoesToStdoutAndBadArgumentsToStderr) {
  trident::testing::temp_dir dir("media-model");
  for (const char* help : {"--help", "-h"}) {
    const auto r = make_model_tool(help, dir.path);
    EXPECT_EQ(r.exit_code, 0) << help;
    EXPECT_NE(r.out.find("usage: trident_make_whisper_model tiny|base OUTPUT [--seed N]"), std::string::npos) << r.out;
    EXPECT_TRUE(r.err.empty()) << r.err;
  }
  auto r = make_model_tool("", dir.path);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("usage:"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  r = make_model_tool("huge '" + (dir.path / "m.bin").string() + "'", dir.path);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("size must be tiny or base"), std::string::npos) << r.err;
}

TEST(ModelFile, BaseDimensions) {
  const auto h = trident::testing::published_whisper_hparams("base");
  EXPECT_EQ(h.n_audio_state, 512);
  EXPECT_EQ(h.n_audio_head, 8);
  EXPECT_EQ(h.n_audio_layer, 6);
  EXPECT_THROW((void)trident::testing::published_whisper_hparams("huge"), std::invalid_argument);
}

void expect_model_error(const std::filesystem::path& path, const std::string& words) {
  try {
    (void)inspect_model(path);
    ADD_FAILURE() << path << " accepted";
  } catch (const model_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path.string()), std::string::npos) << message;
    EXPECT_NE(message.find(words), std::string::npos) << message;
  }
}

TEST(ModelFile, MissingTruncatedAndWrongFormatAreClearErrors) {
  trident::testing::temp_dir dir("media-model");
  expect_model_error(dir.path / "none.bin", "no such model file");
  media_test::truncate_copy(media_fixtures().model, dir.path / "cut.bin", 0.6);
  expect_model_error(dir.path / "cut.bin", "truncated");
  media_test::truncate_copy(media_fixtures().model, dir.path / "header.bin", 0.0001);
  expect_model_error(dir.path / "header.bin", "truncated");
  std::ofstream(dir.path / "text.bin") << "this is not a model, it is a text file of some length\n";
  expect_model_error(dir.path / "text.bin", "bad magic");
  expect_model_error(media_fixtures().speech, "bad magic");
}

/// A model file of the smallest shape (one audio and one text layer: 50 tensors), each tensor
/// with the shape `ne` and the bytes `data` after its header.
std::string small_model(const std::vector<std::int32_t>& ne, const std::string& data) {
  std::string out;
  auto put = [&out](auto v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); };
  put(ggml_file_magic);
  for (std::int32_t v : {51864, 1500, 8, 2, 1, 448, 8, 2, 1, 4, 0}) put(v);  // hyperparameters
  put(std::int32_t{1});                                                      // mel filters: 1 x 1
  put(std::int32_t{1});
  put(0.0f);
  put(std::int32_t{0});  // no vocabulary
  for (int tensor = 0; tensor < 11 + 15 + 24; ++tensor) {
    put(static_cast<std::int32_t>(ne.size()));
    put(std::int32_t{1});  // name length
    put(std::int32_t{0});  // f32
    for (std::int32_t n : ne) put(n);
    out += 'w';
    out += data;
  }
  return out;
}

TEST(ModelFile, ATensorShapeWhoseSizeOverflowsIsCorruptNotEmpty) {
  // Found while writing fuzz/media_model_fuzz.cpp (a signed overflow). 2^16 x 2^16 x 2^16 x 2^16
  // elements wrapped around to 0, and 2^62 f32 elements to 0 bytes: tensors with no data were
  // taken for a complete model.
  trident::testing::temp_dir dir("media-model");
  const auto write = [&](const std::string& name, const std::string& bytes) {
    std::ofstream(dir.path / name, std::ios::binary) << bytes;
    return dir.path / name;
  };
  expect_model_error(write("wrap.bin", small_model({65536, 65536, 65536, 65536}, "")), "corrupt tensor shape");
  expect_model_error(write("bytes.bin", small_model({65536, 65536, 65536, 16384}, "")), "corrupt tensor shape");
  // The same layout with honest shapes and their data passes.
  EXPECT_EQ(inspect_model(write("good.bin", small_model({2, 2}, std::string(16, '\0')))).tensors, 50);
}

TEST(WhisperModel, LoadsAGeneratedModelAndTranscribesWithSeveralStates) {
  whisper_model model(media_fixtures().model);
  const auto audio = decode_audio(media_fixtures().speech);
  transcribe_options options;
  options.language = "en";
  options.threads = 1;
  options.max_tokens = 8;
  options.temperature_fallback = false;
  options.timestamps = false;
  auto a = model.new_state();
  auto b = model.new_state();
  transcription ta, tb;
  std::thread other([&] { tb = b.transcribe(audio.samples, options); });
  ta = a.transcribe(audio.samples, options);
  other.join();
  EXPECT_EQ(ta.language, "en");
  // The same input, model and greedy decoding: the same output, whichever state ran it.
  EXPECT_EQ(ta.text(), tb.text());
  EXPECT_GT(ta.seconds, 0);
  // Without timestamps: one segment, the whole clip (whisper.cpp's own t0 was -1007.28 s).
  ASSERT_EQ(ta.segments.size(), 1U);
  EXPECT_EQ(ta.segments[0].start, 0.0);
  EXPECT_EQ(ta.segments[0].end, audio.seconds());
}

TEST(WhisperModel, SegmentTimesStayInTheClipAndInOrder) {
  const std::vector<segment> raw = {
      {-1007.28, 30.0, " One"}, {2.0, 1.0, " two"}, {0.5, 3.0, " three"}, {9.0, 12.0, " four"}};
  const auto timed = place_segments(raw, 4.8, true);
  ASSERT_EQ(timed.size(), 4U);
  double previous_end = 0;
  for (const auto& s : timed) {
    EXPECT_GE(s.start, previous_end) << s.text;
    EXPECT_LE(s.start, s.end) << s.text;
    EXPECT_LE(s.end, 4.8) << s.text;
    previous_end = s.end;
  }
  EXPECT_EQ(timed[0].start, 0.0);
  EXPECT_EQ(timed[0].end, 4.8);
  EXPECT_EQ(timed[3].text, " four");

  const auto whole = place_segments(raw, 4.8, false);
  ASSERT_EQ(whole.size(), 1U);
  EXPECT_EQ(whole[0].start, 0.0);
  EXPECT_EQ(whole[0].end, 4.8);
  EXPECT_EQ(whole[0].text, " One two three four");
  EXPECT_TRUE(place_segments({}, 4.8, false).empty());

  const auto in_order = place_segments({{0.0, 1.5, " a"}, {1.5, 4.0, " b"}}, 4.8, true);
  EXPECT_EQ(in_order[1].start, 1.5);  // sensible times are kept as they are
  EXPECT_EQ(in_order[1].end, 4.0);
}

TEST(WhisperModel, StopFlagCancelsATranscription) {
  whisper_model model(media_fixtures().model);
  const auto audio = decode_audio(media_fixtures().speech);
  auto state = model.new_state();
  std::atomic<bool> stop{true};
  transcribe_options options;
  options.threads = 1;
  EXPECT_THROW((void)state.transcribe(audio.samples, options, &stop), trident::cancelled_error);
}

TEST(WhisperModel, UnknownLanguageIsAnError) {
  EXPECT_THROW(check_language("xx-not-a-language"), std::invalid_argument);
  EXPECT_NO_THROW(check_language("auto"));
  EXPECT_NO_THROW(check_language("de"));
}

}  // namespace
