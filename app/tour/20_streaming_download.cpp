// Lesson cell "media pipeline: async download helpers", the download half: `download_one` streams
// each file to disk in 64 KiB chunks (aiohttp's `resp.content.iter_chunked(1024 * 64)`), so a
// large file never sits whole in memory, and `download_all` runs them concurrently through one
// session. The "media" files come from a loopback server embedded in the program.

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "cell.hpp"
#include "trident/aio/event_loop.hpp"
#include "trident/aio/gather.hpp"
#include "trident/aio/run.hpp"
#include "trident/http/file_names.hpp"
#include "trident/http/session.hpp"
#include "trident/testing/http_server.hpp"

namespace trident::lesson {

std::string streaming_download(output& out) {
  trident::testing::http_server server;
  const std::filesystem::path dest =
      std::filesystem::temp_directory_path() / ("trident-tour-media-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dest);
  struct cleanup {
    std::filesystem::path p;
    ~cleanup() { std::filesystem::remove_all(p); }
  } remove_later{dest};

  // Three "recordings" of 3, 5 and 8 MB.
  const std::vector<std::string> urls{server.url("/bytes/3000000"), server.url("/bytes/5000000"),
                                      server.url("/bytes/8000000")};
  std::size_t largest_chunk = 0;

  auto download_one = [&](http::session& session, const std::string& url) -> aio::task<std::filesystem::path> {
    // The lesson derives the name with split("/")[-1]; file_name_for also keeps it inside dest.
    const auto path = dest / (http::file_name_for(url) + ".wav");
    out.line("Starting download: {}", url);
    http::request req;
    req.url = url;
    http::body_stream stream = co_await session.open(req, 64 * 1024);
    stream.head().raise_for_status();
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw std::runtime_error("cannot create " + path.string());
    struct closer {
      int fd;
      ~closer() { ::close(fd); }
    } close_later{fd};
    auto chunks = stream.chunks();  // `async for chunk in resp.content.iter_chunked(64 KiB):`
    for (auto it = co_await chunks.begin(); it != chunks.end(); co_await ++it) {
      largest_chunk = std::max(largest_chunk, it->size());
      if (::write(fd, it->data(), it->size()) != static_cast<ssize_t>(it->size())) {
        throw std::runtime_error("short write to " + path.string());
      }
    }
    out.line("Completed download: {}", path.filename().string());
    co_return path;
  };

  auto download_all = [&]() -> aio::task<std::vector<std::filesystem::path>> {
    http::session session;
    std::vector<aio::task<std::filesystem::path>> tasks;
    for (const auto& u : urls) tasks.push_back(download_one(session, u));
    co_return co_await aio::gather(std::move(tasks));
  };

  const auto start = std::chrono::steady_clock::now();
  const auto files = aio::run(download_all());
  const double took = seconds_since(start);
  std::uintmax_t total = 0;
  for (const auto& f : files) total += std::filesystem::file_size(f);
  check(total == 16'000'000, fmt::format("expected 16000000 bytes on disk, found {}", total));
  // The buffer bound holds: a chunk is at most the 64 KiB buffer plus one network read.
  check(largest_chunk <= 64 * 1024 + 128 * 1024,
        fmt::format("a chunk of {} bytes: back-pressure failed", largest_chunk));
  out.line("{} files, {:.1f} MB streamed to disk in {:.2f} s; largest chunk held {} KiB", files.size(), total / 1e6,
           took, largest_chunk / 1024);
  return fmt::format("3 files ({:.0f} MB) streamed in chunks of <= {} KiB in {:.2f}s", total / 1e6,
                     largest_chunk / 1024, took);
}

}  // namespace trident::lesson
