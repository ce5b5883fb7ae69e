// Lesson cell "Bonus: Hybrid Async + Multiprocessing", with real processes: datasets arrive by
// (simulated) async I/O on the event loop, and each one is analysed on a process pool the moment
// it arrives with `co_await aio::run_in(pool, ...)`. Neither the loop nor any thread waits for
// the workers; fetching the later datasets overlaps analysing the earlier ones.

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <fmt/ranges.h>

#include "cell.hpp"
#include "trident/aio/event_loop.hpp"
#include "trident/aio/gather.hpp"
#include "trident/aio/run.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/aio/task.hpp"
#include "trident/proc/process_pool.hpp"
#include "trident/proc/run_in.hpp"
#include "trident/proc/worker_main.hpp"

namespace trident::lesson {

namespace {

using namespace std::chrono_literals;

constexpr int datasets = 5;
constexpr std::int64_t first = 1'000'000;
constexpr std::int64_t width = 40'000;

struct analysis {
  int id = 0;
  int primes = 0;
  int pid = 0;
  TRIDENT_SERIALIZABLE(id, primes, pid)
};

/// The CPU-heavy part, run in a worker process: primes in [lo, hi) by trial division.
analysis count_primes(int id, std::int64_t lo, std::int64_t hi) {
  int count = 0;
  for (std::int64_t n = lo; n < hi; ++n) {
    bool prime = n >= 2;
    for (std::int64_t k = 2; prime && k * k <= n; ++k) prime = n % k != 0;
    count += prime ? 1 : 0;
  }
  return {id, count, proc::current_pid()};
}
TRIDENT_TASK(count_primes);

int sieve_count(std::int64_t lo, std::int64_t hi) {
  std::vector<bool> composite(static_cast<std::size_t>(hi), false);
  int count = 0;
  for (std::int64_t p = 2; p < hi; ++p) {
    if (composite[static_cast<std::size_t>(p)]) continue;
    if (p >= lo) ++count;
    for (std::int64_t m = p * p; m < hi; m += p) composite[static_cast<std::size_t>(m)] = true;
  }
  return count;
}

}  // namespace

std::string hybrid_process(output& out) {
  proc::process_pool pool(2);
  const auto start = aio::clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(aio::clock::now() - start).count(); };
  int fetched = 0;

  auto fetch_and_analyse = [&](int id) -> aio::task<analysis> {
    co_await aio::sleep(40ms * id);  // simulated download of dataset `id`
    ++fetched;
    out.line("  fetched dataset {} at {:.2f}s; analysing it in a worker process", id, elapsed());
    const std::int64_t lo = first + (id - 1) * width;
    analysis a = co_await aio::run_in(pool, count_primes, id, lo, lo + width);
    out.line("  dataset {}: {} primes (worker PID {}) at {:.2f}s{}", id, a.primes, a.pid, elapsed(),
             fetched < datasets ? " — other downloads still running" : "");
    co_return a;
  };
  auto all = [&]() -> aio::task<std::vector<analysis>> {
    std::vector<aio::task<analysis>> items;
    for (int id = 1; id <= datasets; ++id) items.push_back(fetch_and_analyse(id));
    co_return co_await aio::gather(std::move(items));
  };
  const std::vector<analysis> results = aio::run(all());
  const double took = elapsed();

  std::set<int> pids;
  std::vector<int> counts;
  for (const auto& a : results) {
    counts.push_back(a.primes);
    pids.insert(a.pid);
    check(a.primes == sieve_count(first + (a.id - 1) * width, first + a.id * width),
          fmt::format("dataset {}: wrong prime count", a.id));
  }
  out.line("Primes per dataset: {}", fmt::join(counts, ", "));
  return fmt::format("{} datasets fetched async and analysed in {} worker process(es) in {:.2f}s", datasets,
                     pids.size(), took);
}

}  // namespace trident::lesson
