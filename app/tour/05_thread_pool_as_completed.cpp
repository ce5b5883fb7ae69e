// Lesson cell "ThreadPoolExecutor": ten 0.2 s items on a pool of four workers, results taken
// as they complete. Four run at a time, so ten take three rounds: about 0.6 s instead of 2 s.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/ranges.h>

#include "cell.hpp"
#include "trident/exec/as_completed.hpp"
#include "trident/exec/thread_pool.hpp"

namespace trident::lesson {

std::string thread_pool_as_completed(output& out) {
  constexpr int items = 10;
  constexpr auto work = std::chrono::milliseconds(200);
  std::atomic<int> running{0};
  std::atomic<int> most_running{0};

  auto process_data = [&](int item_id) {
    const int now = running.fetch_add(1) + 1;
    int seen = most_running.load();
    while (now > seen && !most_running.compare_exchange_weak(seen, now)) {}
    std::this_thread::sleep_for(work);  // I/O-bound work
    running.fetch_sub(1);
    return std::pair{fmt::format("Processed item {}", item_id), item_id * 2};
  };

  const auto start = std::chrono::steady_clock::now();
  std::vector<int> results;
  std::vector<int> order;
  {
    trident::exec::thread_pool pool({.workers = 4, .name = "lesson-pool"});
    std::vector<trident::exec::future<std::pair<std::string, int>>> futures;
    for (int i = 0; i < items; ++i) futures.push_back(pool.submit(process_data, i));

    for (auto& f : trident::exec::as_completed(futures)) {
      auto [message, result] = f.get();
      out.line("{}: {}", message, result);
      results.push_back(result);
      order.push_back(result / 2);
    }
  }  // the pool shuts down here, like leaving Python's `with` block
  const double took = seconds_since(start);
  out.line("Total time: {:.2f}s (sequential would take {:.1f}s)", took, items * 0.2);

  std::sort(results.begin(), results.end());
  bool all = results.size() == items;
  for (int i = 0; all && i < items; ++i) all = results[static_cast<std::size_t>(i)] == i * 2;
  check(all, "missing or wrong results");
  check(most_running.load() <= 4, fmt::format("{} items ran at once on 4 workers", most_running.load()));
  check(took < 1.5, fmt::format("took {:.2f}s: the pool did not overlap the items", took));
  return fmt::format("10 items on 4 workers in {:.2f}s, completion order {}", took, fmt::join(order, ","));
}

}  // namespace trident::lesson
