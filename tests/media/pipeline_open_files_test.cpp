// media::transcribe_pipeline under a low open-file limit: its downloads go through
// http::fetch_all, whose transfers in flight are capped by the descriptors free and whose attempts
// wait and start again on EMFILE, so a limit that leaves room for the pipeline but not for every
// download at once slows the run and fails no file.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "media_fixtures.hpp"
#include "rerun_in_child.hpp"
#include "trident/aio/run.hpp"
#include "trident/http/session.hpp"
#include "trident/media/pipeline.hpp"
#include "trident/testing/file_server.hpp"
#include "trident/testing/temp_dir.hpp"

namespace {

using namespace trident::media;
using media_test::media_fixtures;
namespace fs = std::filesystem;
namespace aio = trident::aio;
namespace http = trident::http;

std::string read_all(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), {}};
}

using trident::testing::rerun_current_test_in_child;

/// The descriptors open in this process, numbered below `below`.
int open_descriptors(int below = INT32_MAX) {
  int n = 0;
  std::error_code ec;
  for (fs::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) {
    if (std::stoi(it->path().filename().string()) < below) ++n;
  }
  return n - 1;  // the iterator's own
}

/// The RLIMIT_NOFILE at which exactly `more` descriptors can still be opened: the kernel hands
/// out the lowest free number and refuses one at or above the limit, so what counts is the free
/// numbers below it (a descriptor inherited at 251 takes none of them).
rlim_t limit_leaving(int more) {
  int limit = more;
  while (limit - open_descriptors(limit) < more) ++limit;
  return static_cast<rlim_t>(limit);
}

const std::vector<std::string> downloaded = {"speech.wav", "speech.mp3", "speech.m4a", "speech.ogg", "speech.flac"};

}  // namespace

/// The limit leaves the pipeline's own needs (its event loop and session, measured; a decoder,
/// the writer, one transfer) and a few to spare, but not two per download for all five at once
/// — which the pipeline's former download loop, without fetch_all's cap, opened: it failed
/// downloads with "Too many open files" here. The run is in a child process of this binary so
/// that the limit binds the pipeline only, not the loopback server.
TEST(PipelineOpenFiles, DownloadsUnderALowOpenFileLimitAllArriveAndAreTranscribed) {
  if (const char* setup = std::getenv("TRIDENT_TEST_PIPELINE_OPEN_FILES_CHILD"); setup != nullptr) {
    // The child: "BASE-URL DIR".
    const std::string text = setup;
    const auto space = text.find(' ');
    const std::string base = text.substr(0, space);
    const fs::path out = text.substr(space + 1);
    whisper_model model(media_fixtures().model);
    pipeline_options o;
    o.output_dir = out;
    o.downloads = 8;
    o.retries = 0;  // no retry policy to hide behind: out of descriptors is not a failed attempt
    o.decoders = 1;
    o.states = 1;
    o.queue = 1;
    o.transcribe.language = "en";
    o.transcribe.threads = 1;
    o.transcribe.max_tokens = 8;
    o.transcribe.temperature_fallback = false;
    o.transcribe.timestamps = false;
    transcribe_pipeline pipeline(model, o);
    // What an event loop with one session costs, counted while one exists.
    const int before = open_descriptors();
    auto measure = []() -> aio::task<int> {
      http::session s;
      co_return open_descriptors();
    };
    const int session_cost = aio::run(measure()) - before;
    constexpr int spare = 8;  // one transfer (2), a decoder and the writer (2 each), 2 more
    const rlim_t limit = limit_leaving(session_cost + spare);
    std::printf("descriptors: %d open, %d for a loop and session, limit %ld\n", before, session_cost,
                static_cast<long>(limit));
    const rlimit l{limit, limit};
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &l), 0);
    std::vector<std::string> sources;
    for (const auto& name : downloaded) sources.push_back(base + name);
    const auto results = pipeline.run(sources);
    ASSERT_EQ(results.size(), sources.size());
    for (const auto& r : results) {
      EXPECT_EQ(r.outcome, file_outcome::ok)
          << r.source << ": " << to_string(r.outcome) << " at " << r.stage << ": " << r.error;
    }
    EXPECT_EQ(pipeline.progress().downloaded, sources.size());
    EXPECT_EQ(pipeline.progress().failed, 0u);
    return;
  }
  trident::testing::temp_dir dir("media-open-files");
  // A delay before each answer keeps the downloads in flight together, as over a real network.
  trident::testing::file_server server(media_fixtures().dir, std::chrono::milliseconds(200));
  const fs::path out = dir.path / "out";
  fs::create_directory(out);
  const int status = rerun_current_test_in_child("TRIDENT_TEST_PIPELINE_OPEN_FILES_CHILD",
                                                 server.url("") + " " + out.string(), dir.path / "log");
  EXPECT_EQ(status, 0) << read_all(dir.path / "log");
  // Seen from outside: each download whole, with its transcript.
  for (const auto& name : downloaded) {
    SCOPED_TRACE(name);
    std::error_code ec;
    EXPECT_EQ(fs::file_size(out / name, ec), fs::file_size(media_fixtures().dir / name));
    EXPECT_TRUE(fs::exists(out / (name + ".txt")));
    EXPECT_TRUE(fs::exists(out / (name + ".json")));
  }
  EXPECT_GE(server.requests(), downloaded.size());
}
