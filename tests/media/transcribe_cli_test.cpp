// `trident transcribe` as a user runs it: errors before any download, outputs, JSON lines, and
// Ctrl-C keeping finished transcripts only.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <pty.h>
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

/// Starts the command with stdout and stderr in files under `logs` (stderr on `stderr_fd` instead
/// when given: a terminal), in the folder `cwd` when given.
pid_t start(const std::vector<std::string>& args, const fs::path& logs, const fs::path& cwd = {}, int stderr_fd = -1) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::freopen((logs / "stdout").c_str(), "w", stdout);
    std::freopen((logs / "stderr").c_str(), "w", stderr);
    if (stderr_fd >= 0) ::dup2(stderr_fd, STDERR_FILENO);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) std::_Exit(126);
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
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), read(logs / "stdout"),
          read(logs / "stderr")};
}

outcome run(const std::vector<std::string>& args, const fs::path& logs, const fs::path& cwd = {}) {
  return finish(start(args, logs, cwd), logs);
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

std::vector<std::string> quick = {"--language",   "en", "--threads",     "1",
                                  "--max-tokens", "8",  "--no-fallback", "--no-timestamps"};

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
  const auto r = run(
      {"transcribe", media_fixtures().speech.string(), "--model", media_fixtures().model.string(), "--device", "cuda"},
      logs.path);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no CUDA backend"), std::string::npos) << r.err;
}
#endif

TEST(TranscribeCommand, LocalFilesAndAUrlWithJsonLines) {
  trident::testing::temp_dir logs("media-cli");
  trident::testing::file_server server(media_fixtures().dir);
  const fs::path out = logs.path / "out";
  // --format takes one value (here a list): the file after it is an input, not a format.
  const auto r = run(with({"transcribe", "--format", "srt,vtt", media_fixtures().containers[0].second.string(),
                           server.url("speech.ogg"), media_fixtures().containers[2].second.string(), "--model",
                           media_fixtures().model.string(), "-o", out.string(), "--json"},
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
  EXPECT_TRUE(fs::exists(out / "speech.ogg.srt"));
  EXPECT_TRUE(fs::exists(out / "speech.wav.json"));
  EXPECT_TRUE(fs::exists(out / "speech.wav.srt"));
  EXPECT_TRUE(fs::exists(out / "speech.m4a.vtt"));
}

TEST(TranscribeCommand, FormatTakesOneValueAndAMissingInputIsAUsageErrorBeforeTheModelLoads) {
  trident::testing::temp_dir logs("media-cli");
  const std::string missing = (logs.path / "not-here.wav").string();
  // `--format srt FILE`: FILE is an input (here a missing one), not a second format.
  auto r = run({"transcribe", "--model", media_fixtures().model.string(), "--format", "srt", missing}, logs.path);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err.find("not in {srt,vtt}"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("'" + missing + "': no such file"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("Model:"), std::string::npos) << r.err;  // said before the model loads

  // Every local input is checked before any work: nothing is transcribed when one is missing.
  r = run({"transcribe", "--model", media_fixtures().model.string(), "-o", (logs.path / "out").string(),
           media_fixtures().speech.string(), missing, "--format", "srt", "--format", "vtt"},
          logs.path);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("1 input cannot be read"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("Model:"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(logs.path / "out" / "espeak.wav.txt"));

  r = run({"transcribe", "--model", media_fixtures().model.string(), "--format", "txt", missing}, logs.path);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--format: txt not in {srt,vtt}"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("must be srt or vtt"), std::string::npos) << r.err;
}

TEST(TranscribeCommand, HelpSaysHowFormatsAreGivenAndThatTraceWritesHtmlToo) {
  trident::testing::temp_dir logs("media-cli");
  const auto r = run({"transcribe", "--help"}, logs.path);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const auto trace = r.out.find("--trace");
  ASSERT_NE(trace, std::string::npos) << r.out;
  EXPECT_NE(r.out.find(".html", trace), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("srt,vtt"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("(repeatable)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("every output asked for"), std::string::npos) << r.out;  // --skip-existing
}

TEST(TranscribeCommand, WhisperCppsOwnLogStaysOutOfTheOutput) {
  trident::testing::temp_dir logs("media-cli");
  const auto r = run(
      {"transcribe", "--model", media_fixtures().model.string(), "--language", "xx", media_fixtures().speech.string()},
      logs.path);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("unknown language 'xx'"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("whisper_"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("ggml_"), std::string::npos) << r.err;
}

TEST(TranscribeCommand, AFailedFileIsNamedOnceInItsErrorLine) {
  trident::testing::temp_dir logs("media-cli");
  trident::testing::file_server server(media_fixtures().dir);
  const std::string silent = media_fixtures().video_only.string();
  const std::string missing_url = server.url("missing.ogg");
  const auto r = run(with({"transcribe", silent, missing_url, "--model", media_fixtures().model.string(), "-o",
                           (logs.path / "out").string()},
                          quick),
                     logs.path);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.out.find(silent + ": no audio stream"), std::string::npos) << r.out;
  EXPECT_EQ(count(r.out, silent), 1U) << r.out;
  EXPECT_NE(r.out.find("404"), std::string::npos) << r.out;
  EXPECT_EQ(count(r.out, missing_url), 1U) << r.out;
  EXPECT_EQ(r.err.find("whisper_"), std::string::npos) << r.err;
}

// Two inputs of one name, each transcript from its own input.
void expect_transcript_of(const fs::path& json, const fs::path& source) {
  ASSERT_TRUE(fs::exists(json)) << json;
  EXPECT_EQ(nlohmann::json::parse(read(json))["source"], source.string()) << json;
}

TEST(TranscribeCommand, LocalFilesOfOneNameGetATranscriptEach) {
  trident::testing::temp_dir logs("media-cli");
  fs::create_directories(logs.path / "d1");
  fs::create_directories(logs.path / "d2");
  fs::copy_file(media_fixtures().containers[1].second, logs.path / "d1/a.mp3");  // mp3
  fs::copy_file(media_fixtures().containers[3].second, logs.path / "d2/a.mp3");  // an mp4 named a.mp3
  const fs::path out = logs.path / "out";
  const auto r = run(with({"transcribe", (logs.path / "d1/a.mp3").string(), (logs.path / "d2/a.mp3").string(),
                           "--model", media_fixtures().model.string(), "-o", out.string()},
                          quick),
                     logs.path);
  EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
  expect_transcript_of(out / "a.mp3.json", logs.path / "d1/a.mp3");
  expect_transcript_of(out / "a-1.mp3.json", logs.path / "d2/a.mp3");
  EXPECT_TRUE(fs::exists(out / "a-1.mp3.txt"));
  EXPECT_NE(r.out.find("-> " + (out / "a-1.mp3.txt").string()), std::string::npos) << r.out;
}

TEST(TranscribeCommand, ADownloadNeverReplacesALocalInputOfTheSameName) {
  trident::testing::temp_dir logs("media-cli");
  const fs::path work = logs.path / "work", served = logs.path / "served";
  fs::create_directories(work);
  fs::create_directories(served);
  fs::copy_file(media_fixtures().containers[1].second, work / "a.mp3");    // the user's own file
  fs::copy_file(media_fixtures().containers[4].second, served / "a.mp3");  // an ogg served as a.mp3
  const std::string mine = read(work / "a.mp3");
  trident::testing::file_server server(served);
  // No -o: downloads go to ".", which is where the local a.mp3 is.
  const auto r =
      run(with({"transcribe", "a.mp3", server.url("a.mp3"), "--model", media_fixtures().model.string()}, quick),
          logs.path, work);
  EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_EQ(read(work / "a.mp3"), mine);  // the input is untouched
  EXPECT_EQ(read(work / "a-1.mp3"), read(served / "a.mp3"));
  expect_transcript_of(work / "a.mp3.json", "a.mp3");
  expect_transcript_of(work / "a-1.mp3.json", server.url("a.mp3"));
}

TEST(TranscribeCommand, SummaryAndSomeFailedExitCode) {
  trident::testing::temp_dir logs("media-cli");
  const auto r =
      run(with({"transcribe", media_fixtures().containers[0].second.string(), media_fixtures().corrupt.string(),
                "--model", media_fixtures().model.string(), "-o", (logs.path / "out").string()},
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
  std::vector<std::string> args = {"transcribe", "--model", media_fixtures().model.string(), "-o", out.string(),
                                   "--states",   "1"};
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

// The tour's media cell says what it prints: the transcripts it wrote, each on its line.
TEST(TranscribeCommand, TourCellPrintsTheTranscriptsItMade) {
  trident::testing::temp_dir logs("media-cli");
  const auto r = run({"tour", "transcribe"}, logs.path);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_EQ(r.out.find("the transcripts below are meaningless"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("transcripts (NAME.txt"), std::string::npos) << r.out;
  for (const char* name : {"clip0.mp3.txt", "clip1.mp3.txt", "clip2.mp3.txt", "clip3.wav.txt"}) {
    EXPECT_NE(r.out.find(std::string("  ") + name + " "), std::string::npos) << name << "\n" << r.out;
  }
}

// The progress line on a terminal: after Ctrl-C cancels every file, it says so, as fetch's does,
// instead of "4/4 files" as if they were done.
TEST(TranscribeCommand, ProgressLineShowsCancelledFilesApart) {
  trident::testing::temp_dir logs("media-cli");
  trident::testing::file_server server(media_fixtures().dir, std::chrono::milliseconds(5000));
  int terminal = -1, terminal_side = -1;
  ASSERT_EQ(::openpty(&terminal, &terminal_side, nullptr, nullptr, nullptr), 0);
  ::fcntl(terminal, F_SETFD, FD_CLOEXEC);
  std::vector<std::string> args = {"transcribe", "--model", media_fixtures().model.string(), "-o",
                                   (logs.path / "out").string()};
  for (const char* name : {"speech.mp3", "speech.ogg", "speech.flac", "speech.m4a"}) args.push_back(server.url(name));
  const pid_t pid = start(with(args, quick), logs.path, {}, terminal_side);
  ::close(terminal_side);
  std::string screen;
  std::thread reader([&] {
    char buffer[4096];
    for (;;) {
      const ssize_t n = ::read(terminal, buffer, sizeof buffer);
      if (n <= 0) break;  // EIO once the command, the last holder of the other side, has exited
      screen.append(buffer, static_cast<std::size_t>(n));
    }
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (server.requests() < 4 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(pid, SIGINT);
  const auto r = finish(pid, logs.path);
  reader.join();
  ::close(terminal);
  EXPECT_EQ(r.exit_code, 130) << screen;
  EXPECT_NE(r.out.find("4 cancelled"), std::string::npos) << r.out;
  std::string shown = screen;  // the terminal turns the final "\n" into "\r\n"
  while (!shown.empty() && (shown.back() == '\n' || shown.back() == '\r')) shown.pop_back();
  const std::string last_line = shown.substr(shown.rfind('\r') + 1);
  EXPECT_NE(last_line.find("4 cancelled"), std::string::npos) << screen;
}

}  // namespace
