// Lesson cell "Exercise 2: Async Web Scraper", for real (cell 12 simulates it with sleeps): seven
// URLs on a loopback server, at most three requests at once (an aio::semaphore, as the
// exercise's asyncio.Semaphore(3)), one URL failing (its server refuses the connection). Then the
// exercise's suggestion, with http::retry_policy: a URL that answers 503 twice succeeds on its
// third attempt, backed off with full jitter; the refused one gives up after four attempts.

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "cell.hpp"
#include "trident/aio/event_loop.hpp"
#include "trident/aio/gather.hpp"
#include "trident/aio/run.hpp"
#include "trident/aio/semaphore.hpp"
#include "trident/http/session.hpp"
#include "trident/testing/http_server.hpp"

namespace trident::lesson {

namespace {

using namespace std::chrono_literals;

struct scrape_result {
  std::string url;
  bool ok = false;
  int attempts = 0;
  std::string detail;
};

}  // namespace

std::string http_scraper(output& out) {
  trident::testing::http_server server;
  const std::string dead = "http://127.0.0.1:" + std::to_string(trident::testing::closed_loopback_port()) + "/error";
  aio::semaphore semaphore(3);
  int in_flight = 0, most_in_flight = 0;

  auto fetch_url = [&](http::session& session, std::string url, http::retry_policy retry) -> aio::task<scrape_result> {
    auto permit = co_await semaphore.hold();  // `async with self.semaphore:`
    most_in_flight = std::max(most_in_flight, ++in_flight);
    struct leaving {
      int& n;
      ~leaving() { --n; }
    } leave{in_flight};
    out.line("Fetching: {}", url);
    http::request req;
    req.url = url;
    req.options.retry = retry;  // the other options stay the session's
    req.options.connect_timeout = 2s;
    scrape_result r;
    r.url = url;
    try {
      http::response resp = co_await session.send(req);
      resp.raise_for_status();
      r.ok = true;
      r.attempts = resp.attempts();
      r.detail = fmt::format("{} bytes", resp.body().size());
      out.line("Completed: {}", url);
    } catch (const http::transfer_error& e) {
      r.detail = fmt::format("{} error", to_string(e.kind()));
      out.line("Error: {}", e.what());
    } catch (const http::http_status_error& e) {
      r.detail = fmt::format("HTTP {}", e.status());
      out.line("Error: {}", e.what());
    }
    co_return r;
  };

  auto scrape_urls = [&](std::vector<std::string> urls,
                         http::retry_policy retry) -> aio::task<std::vector<scrape_result>> {
    http::session session;
    std::vector<aio::task<scrape_result>> tasks;
    for (auto& u : urls) tasks.push_back(fetch_url(session, u, retry));
    co_return co_await aio::gather(std::move(tasks));
  };

  auto report = [&](const std::vector<scrape_result>& results, double took) {
    int ok = 0;
    for (const auto& r : results) {
      ok += r.ok ? 1 : 0;
      out.line("  {:<46} {:<6} {}", r.url, r.ok ? "ok" : "FAILED", r.detail);
    }
    out.line("  Successful: {}/{}; total time {:.2f}s; at most {} in flight", ok, results.size(), took, most_in_flight);
    return ok;
  };

  // 1. The exercise as given: seven URLs, three at a time, one failing, no retries.
  std::vector<std::string> urls;
  for (int i = 1; i <= 6; ++i) {
    if (i == 4) urls.push_back(dead);
    urls.push_back(server.url("/delay/100/page" + std::to_string(i)));
  }
  out.line("=== {} URLs, at most 3 at once ===", urls.size());
  auto start = std::chrono::steady_clock::now();
  const auto plain = aio::run(scrape_urls(urls, http::retry_policy{}));
  const int plain_ok = report(plain, seconds_since(start));
  const int plain_most = most_in_flight;

  // 2. With retries: exponential backoff with full jitter for connection errors and 503.
  http::retry_policy retry = http::retry_policy::attempts(4);
  retry.base_delay = 50ms;
  retry.max_delay = 400ms;
  most_in_flight = 0;
  const std::vector<std::string> retry_urls{server.url("/delay/100/page1"), server.url("/flaky/2/503"), dead};
  out.line("=== With retries (4 attempts, full-jitter backoff from 50 ms) ===");
  start = std::chrono::steady_clock::now();
  const auto retried = aio::run(scrape_urls(retry_urls, retry));
  const int retried_ok = report(retried, seconds_since(start));

  check(plain_ok == 6 && !plain[3].ok, fmt::format("expected 6/7 with the error URL failing, got {}/7", plain_ok));
  check(plain_most <= 3, fmt::format("semaphore broken: {} in flight", plain_most));
  check(retried_ok == 2 && retried[1].ok && retried[1].attempts == 3 && !retried[2].ok,
        "expected the flaky URL to succeed on attempt 3 and the dead one to fail");
  return fmt::format("6/7 ok at most {} at once; with retries the 503 URL succeeded on attempt 3", plain_most);
}

}  // namespace trident::lesson
