// Lesson cell "Introduction to Asyncio": four simulated fetches on one thread. Each awaits a
// sleep instead of blocking, so the loop runs the others meanwhile: the whole takes about the
// longest delay, not the sum, and gather returns the results in argument order, not in the
// order they finished. (The lesson's delays are 0.5/0.3/0.4/0.2 s; halved here.)

#include <algorithm>
#include <array>
#include <chrono>
#include <numeric>
#include <string>
#include <vector>

#include <fmt/ranges.h>

#include "cell.hpp"
#include "trident/aio/event_loop.hpp"
#include "trident/aio/gather.hpp"
#include "trident/aio/run.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/aio/task.hpp"

namespace trident::lesson {

std::string asyncio_gather(output& out) {
  using namespace std::chrono_literals;
  constexpr std::array delays{250ms, 150ms, 200ms, 100ms};
  std::vector<int> finished;  // loop thread only: no lock needed

  // Coroutine lambdas are named locals: their captures live in the closure, which must outlive
  // every coroutine made from it.
  auto fetch_data = [&](int source_id, std::chrono::milliseconds delay) -> aio::task<std::string> {
    out.line("Fetching from source {}...", source_id);
    co_await aio::sleep(delay);  // not std::this_thread::sleep_for: the loop runs the others meanwhile
    out.line("Received data from source {}", source_id);
    finished.push_back(source_id);
    co_return fmt::format("data_{}", source_id);
  };

  auto main_task = [&]() -> aio::task<std::vector<std::string>> {
    std::vector<aio::task<std::string>> tasks;  // created, not started (Python's coroutine objects)
    for (int i = 0; i < static_cast<int>(delays.size()); ++i) {
      tasks.push_back(fetch_data(i + 1, delays[static_cast<std::size_t>(i)]));
    }
    co_return co_await aio::gather(std::move(tasks));
  };

  const auto start = std::chrono::steady_clock::now();
  const std::vector<std::string> results = aio::run(main_task());
  const double took = seconds_since(start);

  const double longest = std::chrono::duration<double>(*std::max_element(delays.begin(), delays.end())).count();
  const double sum = std::chrono::duration<double>(std::accumulate(delays.begin(), delays.end(), 0ms)).count();
  out.line("Results: [{}]", fmt::join(results, ", "));
  out.line("Total time: {:.2f}s (close to the longest delay, {:.2f}s, not the sum, {:.2f}s)", took, longest, sum);

  check(results == std::vector<std::string>{"data_1", "data_2", "data_3", "data_4"},
        fmt::format("results out of argument order: {}", fmt::join(results, ",")));
  check(finished == std::vector<int>{4, 2, 3, 1},
        fmt::format("finished in order {}, expected shortest delay first (4,2,3,1)", fmt::join(finished, ",")));
  check(took >= longest, fmt::format("took {:.2f}s, less than the longest delay {:.2f}s", took, longest));
  check(took < sum, fmt::format("took {:.2f}s, not less than the sum {:.2f}s: the fetches did not overlap", took, sum));
  return fmt::format("4 fetches on one thread: total {:.2f}s vs sum {:.2f}s, results in argument order", took, sum);
}

}  // namespace trident::lesson
