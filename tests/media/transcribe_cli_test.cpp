// `trident transcribe` as a user runs it: errors before any download, outputs, JSON lines, and
// Ctrl-C keeping finished transcripts only.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "trident/testing/file_server.hpp"
#include "media_fixtures.hpp"
#include "trident/testing/temp_dir.hpp"

namespace {

using media_test::media_fixtures;
namespace fs = std::filesystem;

struct outcome {
  int exit_code = -1;
  std::string out, err;
};

std::string read(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

pid_t start(const std::vector<std::string>& args, const fs::path& logs) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::freopen((logs / "stdout").c_str(), "w", stdout);
    std::freopen((logs / "stderr").c_str(), "w", stderr);
    std::vector<char*> argv;
    std::string program = TRIDENT_CLI_PATH;
    argv.push_back(program.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::unsetenv("TRIDENT_WHISPER_MODEL");
    ::execv(program.c_str(), argv.data());
    std::_Exit(127);
  }
  return pid;
}

outcome finish(pid_t pid, const fs::path& logs) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), read(logs / "stdout"), read(logs / "stderr")};
}

outcome run(const std::vector<std::string>& args, const fs::path& logs) { return finish(start(args, logs), logs); }

std::vector<std::string> quick = {"--language", "en", "--threads", "1", "--max-tokens", "8", "--no-fallback", "--no-timestamps"};

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(TranscribeCommand, ModelProblemsAreUsageErrorsBeforeAnyDownload) {
  trident::testing::temp_dir logs("media-cli");
  trident::testing::file_server server(media_fixtures().dir);
  const auto url = server.url("speech.mp3");
  auto r = run({"transcribe", url, "-o", (logs.path / "out").string()}, logs.path);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no model"), std::string::npos) << r.err;

  r = run({"transcribe", url, "--model", (logs.path / "none.bin").string()}, logs.path);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no such model file"), std::string::npos) << r.err;

  media_test::truncate_copy(media_fixtures().model, logs.path / "cut.bin", 0.5);
  r = run({"transcribe", url, "--model", (logs.path / "cut.bin").string()}, logs.path);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("truncated"), std::string::npos) << r.err;

  r = run({"transcribe", url, "--model", media_fixtures().speech.string()}, logs.path);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bad magic"), std::string::npos) << r.err;

  EXPECT_EQ(server.requests(), 0U);
  EXPECT_FALSE(fs::exists(logs.path / "out" / "speech.mp3"));
}

#if !TRIDENT_TEST_BUILD_HAS_CUDA
TEST(TranscribeCommand, CudaInABuildWithoutItIsAUsageError) {
  trident::testing::temp_dir logs("media-cli");
  const auto r = run({"transcribe", media_fixtures().speech.string(), "--model", media_fixtures().model.string(), "--device", "cuda"},
                     logs.path);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no CUDA backend"), std::string::npos) << r.err;
}
#endif

TEST(TranscribeCommand, LocalFilesAndAUrlWithJsonLines) {
  trident::testing::temp_dir logs("media-cli");
  trident::testing::file_server server(media_fixtures().dir);
  const fs::path out = logs.path / "out";
  const auto r = run(with({"transcribe", media_fixtures().containers[0].second.string(), server.url("speech.ogg"),
                           media_fixtures().containers[2].second.string(), "--model", media_fixtures().model.string(), "-o",
                           out.string(), "--json", "--format", "vtt"},
                          quick),
                     logs.path);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.err.find("Using device: cpu"), std::string::npos) << r.err;
  std::istringstream lines(r.out);
  int n = 0;
  for (std::string line; std::getline(lines, line); ++n) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["result"], "ok") << line;
    for (const auto& o : j["outputs"]) EXPECT_TRUE(fs::exists(o.get<std::string>())) << o;
  }
  EXPECT_EQ(n, 3);
  EXPECT_TRUE(fs::exists(out / "speech.ogg.txt"));
  EXPECT_TRUE(fs::exists(out / "speech.ogg.vtt"));
  EXPECT_TRUE(fs::exists(out / "speech.wav.json"));
}

TEST(TranscribeCommand, SummaryAndSomeFailedExitCode) {
  trident::testing::temp_dir logs("media-cli");
  const auto r = run(with({"transcribe", media_fixtures().containers[0].second.string(), media_fixtures().corrupt.string(), "--model",
                           media_fixtures().model.string(), "-o", (logs.path / "out").string()},
                          quick),
                     logs.path);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.out.find("2 files: 1 ok, 0 skipped, 1 failed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("x realtime"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cannot open as media"), std::string::npos) << r.out;
}

TEST(TranscribeCommand, CtrlCKeepsFinishedTranscriptsAndLeavesNoPartialOnes) {
  trident::testing::temp_dir logs("media-cli");
  const fs::path out = logs.path / "out";
  std::vector<std::string> args = {"transcribe", "--model", media_fixtures().model.string(), "-o", out.string(), "--states", "1"};
  for (int round = 0; round < 3; ++round) {
    for (const auto& [ext, path] : media_fixtures().containers) args.push_back(path.string());
  }
  // The same file three times would overwrite its transcript: give each round its own copies.
  args.resize(7);
  for (int round = 0; round < 3; ++round) {
    for (const auto& [ext, path] : media_fixtures().containers) {
      const fs::path copy = logs.path / ("r" + std::to_string(round) + "-" + path.filename().string());
      fs::copy_file(path, copy);
      args.push_back(copy.string());
    }
  }
  const pid_t pid = start(with(args, quick), logs.path);
  // Wait for the first finished transcript, then interrupt.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  bool any = false;
  while (!any && std::chrono::steady_clock::now() < deadline) {
    std::error_code ec;
    for (fs::directory_iterator it(out, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->path().extension() == ".json") any = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(any);
  ::kill(pid, SIGINT);
  const auto r = finish(pid, logs.path);
  EXPECT_EQ(r.exit_code, 130) << r.err;
  EXPECT_NE(r.out.find("interrupted by SIGINT"), std::string::npos) << r.out;
  std::size_t txt = 0, json = 0;
  for (const auto& entry : fs::directory_iterator(out)) {
    const auto name = entry.path().filename().string();
    EXPECT_EQ(name.find(".part-"), std::string::npos) << name;
    if (entry.path().extension() == ".txt") ++txt;
    if (entry.path().extension() == ".json") {
      ++json;
      EXPECT_TRUE(nlohmann::json::accept(read(entry.path()))) << name;
    }
  }
  EXPECT_GE(json, 1U);
  EXPECT_EQ(txt, json);  // each transcript whole: both of its files, or neither
  EXPECT_LT(json, 21U);
}

}  // namespace
