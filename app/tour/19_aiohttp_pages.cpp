// Lesson cell "Asyncio: downloading pages with aiohttp", for real: three pages downloaded
// concurrently through one pooled http::session, each checked with raise_for_status() and saved
// under downloads/. The pages come from an HTTP server embedded in the program on 127.0.0.1 (an
// ephemeral port), so the cell needs no network; each page answers after a 150 ms delay, so
// one-at-a-time would take about 0.45 s.

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cell.hpp"
#include "trident/aio/event_loop.hpp"
#include "trident/aio/gather.hpp"
#include "trident/aio/run.hpp"
#include "trident/http/session.hpp"
#include "trident/testing/http_server.hpp"

namespace trident::lesson {

std::string aiohttp_pages(output& out) {
  trident::testing::http_server server;  // the stand-in for the university's web site
  const std::filesystem::path downloads =
      std::filesystem::temp_directory_path() / ("trident-tour-downloads-" + std::to_string(::getpid()));
  std::filesystem::create_directories(downloads);
  struct cleanup {
    std::filesystem::path p;
    ~cleanup() { std::filesystem::remove_all(p); }
  } remove_later{downloads};

  struct page {
    std::string url, filename;
  };
  const std::vector<page> files{{server.url("/delay/150/index.html"), "warwick.html"},
                                {server.url("/delay/150/applied-ai/"), "applied_ai.html"},
                                {server.url("/delay/150/wmg/"), "wmg.html"}};

  // `download_file(session, url, filename)`: the session is shared, so connections are reused.
  auto download_file = [&](http::session& session, const page& p) -> aio::task<std::string> {
    out.line("Starting download: {}", p.url);
    http::response response = co_await session.get(p.url);
    response.raise_for_status();
    const auto path = downloads / p.filename;
    std::ofstream(path, std::ios::binary) << response.body();
    out.line("Completed download: {} -> {}", p.url, p.filename);
    co_return fmt::format("Downloaded {} bytes from {} to {}", response.body().size(), p.url, p.filename);
  };

  auto download_all_files = [&]() -> aio::task<std::vector<std::string>> {
    http::session session;  // `async with aiohttp.ClientSession() as session:`
    std::vector<aio::task<std::string>> tasks;
    for (const auto& f : files) tasks.push_back(download_file(session, f));
    co_return co_await aio::gather(std::move(tasks));
  };

  const auto start = std::chrono::steady_clock::now();
  const std::vector<std::string> results = aio::run(download_all_files());
  const double took = seconds_since(start);
  for (const auto& r : results) out.line("  {}", r);

  std::size_t saved = 0;
  for (const auto& f : files) saved += std::filesystem::exists(downloads / f.filename) ? 1 : 0;
  check(results.size() == 3 && saved == 3, fmt::format("expected 3 saved pages, found {}", saved));
  out.line("3 pages in {:.2f} s through one session (one after another: about 0.45 s)", took);
  return fmt::format("3 pages concurrently in {:.2f}s via one session, saved and checked", took);
}

}  // namespace trident::lesson
