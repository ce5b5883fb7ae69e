// Lesson cell "Exercise 2: Async Web Scraper", simulated: seven URLs fetched concurrently, at most
// three at once (a semaphore), one failing with a connection error; `gather_outcomes` collects
// values and exceptions alike (`gather(..., return_exceptions=True)`). Then the exercise's
// suggestion: retry connection errors with exponential backoff and full jitter — a flaky URL
// succeeds on its third attempt, a dead one gives up after four.

#include <algorithm>
#include <chrono>
#include <exception>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "cell.hpp"
#include "trident/aio/event_loop.hpp"
#include "trident/aio/gather.hpp"
#include "trident/aio/run.hpp"
#include "trident/aio/semaphore.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/aio/task.hpp"

namespace trident::lesson {

namespace {

using namespace std::chrono_literals;

constexpr auto request_time = 60ms;  // the lesson's 0.5 s, scaled down
constexpr std::size_t max_concurrent = 3;
constexpr int max_attempts = 4;
constexpr auto backoff_base = 20ms;  // attempt n waits a random time in [0, min(cap, base * 2^(n-1))]
constexpr auto backoff_cap = 160ms;

/// Python's ConnectionError: the kind of failure worth retrying.
class connection_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string describe(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const connection_error& c) {
    return fmt::format("connection error: {}", c.what());
  } catch (const std::exception& x) {
    return fmt::format("error: {}", x.what());
  }
}

double seconds(aio::clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

std::string async_scraper(output& out) {
  // Everything below runs on the loop thread: plain counters, no locks.
  aio::semaphore semaphore(max_concurrent);
  int in_flight = 0;
  int most_in_flight = 0;
  std::map<std::string, int> attempts;  // per URL

  // One request, holding a permit for as long as it is in flight.
  auto fetch_url = [&](std::string url) -> aio::task<std::string> {
    auto permit = co_await semaphore.hold();  // `async with self.semaphore:`
    const int attempt = ++attempts[url];
    most_in_flight = std::max(most_in_flight, ++in_flight);
    struct leaving {
      int& n;
      ~leaving() { --n; }
    } leave{in_flight};  // also when the request fails

    out.line("Fetching: {}{}", url, attempt > 1 ? fmt::format(" (attempt {})", attempt) : "");
    co_await aio::sleep(request_time);  // the simulated network request
    const bool fails =
        url.find("error") != std::string::npos || (url.find("flaky") != std::string::npos && attempt <= 2);
    if (fails) throw connection_error(fmt::format("Failed to connect to {}", url));
    out.line("Completed: {}", url);
    co_return fmt::format("Content from {}", url);
  };

  // Retries connection errors; the permit is given back while backing off, so waiting retries
  // never hold up other URLs.
  std::mt19937 rng(20240601);  // fixed seed: the same jitter every run
  auto fetch_with_retries = [&](std::string url) -> aio::task<std::string> {
    for (int attempt = 1;; ++attempt) {
      std::string failure;
      try {
        co_return co_await fetch_url(url);
      } catch (const connection_error& e) {
        if (attempt == max_attempts) {
          throw connection_error(fmt::format("gave up after {} attempts: {}", attempt, e.what()));
        }
        failure = e.what();
      }
      // Not inside the catch block: C++ forbids co_await in a handler.
      const auto ceiling = std::min<std::chrono::milliseconds>(backoff_cap, backoff_base * (1 << (attempt - 1)));
      const auto delay = std::chrono::milliseconds(std::uniform_int_distribution<long>(0, ceiling.count())(rng));
      out.line("Error: {}; retrying in {} ms (full jitter, up to {} ms)", failure, delay.count(), ceiling.count());
      co_await aio::sleep(delay);
    }
  };

  struct scrape_report {
    std::vector<aio::outcome<std::string>> results;
    double took = 0;
  };
  auto scrape_urls = [&](const std::vector<std::string>& urls, auto& fetch) -> aio::task<scrape_report> {
    in_flight = most_in_flight = 0;
    attempts.clear();
    const auto start = aio::clock::now();
    std::vector<aio::task<std::string>> tasks;
    for (const auto& url : urls) tasks.push_back(fetch(url));
    scrape_report r;
    r.results = co_await aio::gather_outcomes(std::move(tasks));
    r.took = seconds(aio::clock::now() - start);
    co_return r;
  };

  auto print_results = [&](const std::vector<std::string>& urls, const scrape_report& r) {
    int ok = 0;
    for (std::size_t i = 0; i < urls.size(); ++i) {
      const auto& o = r.results[i];
      if (o.has_value()) ++ok;
      out.line("  {:<28} {} attempt(s)  {}", urls[i], attempts[urls[i]], o.has_value() ? "ok" : describe(o.error()));
    }
    out.line("  Successful: {}/{}; total time {:.2f}s, {:.3f}s per URL; at most {} in flight", ok, urls.size(), r.took,
             r.took / static_cast<double>(urls.size()), most_in_flight);
    return ok;
  };

  // 1. The exercise as given: one failure, reported, not retried.
  const std::vector<std::string> urls{
      "http://example.com/page1", "http://example.com/page2", "http://example.com/page3", "http://example.com/error",
      "http://example.com/page4", "http://example.com/page5", "http://example.com/page6",
  };
  out.line("=== {} URLs, at most {} at once ===", urls.size(), max_concurrent);
  const scrape_report plain = aio::run(scrape_urls(urls, fetch_url));
  out.line("=== Results ===");
  const int plain_ok = print_results(urls, plain);
  const int plain_most = most_in_flight;

  check(plain_ok == 6, fmt::format("{} of 7 URLs succeeded, expected 6", plain_ok));
  check(!plain.results[3].has_value() && describe(plain.results[3].error()).starts_with("connection error"),
        "the error URL did not fail with a connection error");
  check(plain_most == static_cast<int>(max_concurrent),
        fmt::format("at most {} requests were in flight, expected exactly {}", plain_most, max_concurrent));
  // Seven requests, three at a time: three rounds, not seven.
  const double request_s = seconds(request_time);
  check(plain.took >= 3 * request_s && plain.took < 7 * request_s,
        fmt::format("took {:.2f}s: expected three rounds of {:.2f}s", plain.took, request_s));

  // 2. With retries: a flaky URL (two failures, then success) and a dead one.
  std::vector<std::string> retry_urls = urls;
  retry_urls[2] = "http://example.com/flaky";
  out.line("=== The same with retries (exponential backoff, full jitter, {} attempts at most) ===", max_attempts);
  const scrape_report retried = aio::run(scrape_urls(retry_urls, fetch_with_retries));
  out.line("=== Results ===");
  const int retried_ok = print_results(retry_urls, retried);
  int total_attempts = 0;
  for (const auto& [url, n] : attempts) total_attempts += n;

  check(retried_ok == 6 && retried.results[2].has_value() && !retried.results[3].has_value(),
        "with retries: expected the flaky URL to succeed and only the error URL to fail");
  check(attempts[retry_urls[2]] == 3, fmt::format("flaky URL took {} attempts, expected 3", attempts[retry_urls[2]]));
  check(attempts[retry_urls[3]] == max_attempts,
        fmt::format("error URL took {} attempts, expected {}", attempts[retry_urls[3]], max_attempts));
  check(total_attempts == 5 + 3 + max_attempts, fmt::format("{} attempts in all", total_attempts));
  check(most_in_flight == static_cast<int>(max_concurrent),
        fmt::format("with retries, {} requests were in flight at once", most_in_flight));

  return fmt::format("{}/7 ok, max {} in flight, {:.2f}s; retrying: flaky ok on 3rd, error gave up after {}, {:.2f}s",
                     plain_ok, plain_most, plain.took, max_attempts, retried.took);
}

}  // namespace trident::lesson
