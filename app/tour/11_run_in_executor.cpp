// Lesson note "run_in_executor is the bridge": a blocking library call (a database driver, say)
// inside a coroutine freezes the whole loop; handed to a thread pool with `aio::run_in` (Python's
// `loop.run_in_executor`) or `aio::to_thread` (`asyncio.to_thread`), it blocks a pool thread
// instead and the loop stays responsive. A ticker task shows which: it ticks every 10 ms while
// three 0.1 s blocking calls run, once offloaded and once called directly.

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <fmt/ranges.h>

#include "cell.hpp"
#include "trident/aio/event_loop.hpp"
#include "trident/aio/gather.hpp"
#include "trident/aio/run.hpp"
#include "trident/aio/run_in.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/aio/spawn.hpp"
#include "trident/aio/task.hpp"
#include "trident/exec/thread_pool.hpp"

namespace trident::lesson {

namespace {

using namespace std::chrono_literals;

constexpr auto tick_period = 10ms;
constexpr auto call_time = 100ms;
constexpr int calls = 3;

/// What the ticker saw while one phase's blocking calls ran.
struct phase_report {
  std::vector<int> results;
  int ticks = 0;           ///< Ticks while the calls ran.
  double longest_gap = 0;  ///< Longest time between two ticks, seconds: how long the loop froze.
  double took = 0;
};

}  // namespace

std::string run_in_executor(output& out) {
  // The blocking call: it holds whatever thread runs it. Thread safe (out.line is).
  const auto loop_thread = std::this_thread::get_id();  // aio::run drives the loop on this thread
  auto blocking_query = [&out, loop_thread](int id) {
    out.line("  query {} blocks {} for {} ms", id,
             std::this_thread::get_id() == loop_thread ? "the loop thread" : "a pool thread", call_time.count());
    std::this_thread::sleep_for(call_time);
    return id * 10;
  };

  // Loop thread only, like everything the coroutines below touch except blocking_query.
  int ticks = 0;
  aio::clock::time_point last_tick{};
  aio::clock::duration longest_gap{};
  auto ticker = [&]() -> aio::task<void> {
    for (;;) {  // runs until cancelled
      co_await aio::sleep(tick_period);
      const auto now = aio::clock::now();
      longest_gap = std::max(longest_gap, now - last_tick);
      last_tick = now;
      ++ticks;
    }
  };

  trident::exec::thread_pool pool({.workers = 2, .name = "lesson-executor"});
  auto offloaded = [&](int id) -> aio::task<int> {
    if (id == calls) co_return co_await aio::to_thread(blocking_query, id);  // asyncio.to_thread
    co_return co_await aio::run_in(pool, blocking_query, id);                // loop.run_in_executor(pool, ...)
  };
  auto direct = [&](int id) -> aio::task<int> {
    co_return blocking_query(id);  // the mistake: the loop's own thread blocks
  };

  // Starts the ticker, runs the calls made by `query` concurrently, and reports what it saw.
  auto phase = [&](auto& query) -> aio::task<phase_report> {
    auto ticking = aio::spawn(ticker(), "ticker");
    co_await aio::sleep(2 * tick_period);  // ticking steadily before the calls start
    const int ticks_before = ticks;
    last_tick = aio::clock::now();
    longest_gap = {};
    const auto start = aio::clock::now();

    std::vector<aio::task<int>> queries;
    for (int id = 1; id <= calls; ++id) queries.push_back(query(id));
    phase_report r;
    r.results = co_await aio::gather(std::move(queries));

    r.took = std::chrono::duration<double>(aio::clock::now() - start).count();
    r.ticks = ticks - ticks_before;
    r.longest_gap = std::chrono::duration<double>(std::max(longest_gap, aio::clock::now() - last_tick)).count();
    ticking.cancel();
    co_await ticking.wait();
    co_return r;
  };

  out.line("Offloaded: co_await aio::run_in(pool, blocking_query, id) / aio::to_thread(...)");
  const phase_report good = aio::run(phase(offloaded));
  out.line("  {} calls in {:.2f}s; the ticker ticked {} times meanwhile, longest gap {:.0f} ms", calls, good.took,
           good.ticks, good.longest_gap * 1000);

  out.line("Direct: blocking_query(id) inside the coroutine");
  const phase_report bad = aio::run(phase(direct));
  out.line("  {} calls in {:.2f}s; the ticker ticked {} times meanwhile, longest gap {:.0f} ms (the loop froze)", calls,
           bad.took, bad.ticks, bad.longest_gap * 1000);

  const std::vector<int> expected{10, 20, 30};
  const double call_s = std::chrono::duration<double>(call_time).count();
  check(good.results == expected && bad.results == expected, "wrong query results");
  check(good.took < calls * call_s,
        fmt::format("offloaded calls took {:.2f}s, not less than {:.2f}s: they did not overlap", good.took,
                    calls * call_s));
  check(good.ticks >= 3, fmt::format("the ticker ticked only {} times during offloaded calls", good.ticks));
  // A blocking call holds the loop's only thread: no tick can happen inside one, and the calls
  // cannot overlap each other either.
  check(bad.longest_gap >= call_s,
        fmt::format("direct calls: longest tick gap {:.3f}s, shorter than one call", bad.longest_gap));
  check(bad.took >= calls * call_s, fmt::format("direct calls overlapped ({:.2f}s)", bad.took));
  return fmt::format("offloaded: {} ticks, loop stalled <= {:.0f} ms ({:.2f}s); direct: stalled {:.0f} ms ({:.2f}s)",
                     good.ticks, good.longest_gap * 1000, good.took, bad.longest_gap * 1000, bad.took);
}

}  // namespace trident::lesson
