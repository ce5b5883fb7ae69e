// Writes the HTML timeline pages that tests/browser/render_timeline.py renders in Chromium, each
// with a NAME.expected.json beside it saying what was recorded (spans per lane, the names this
// program gave), so the script can compare what the page shows with what was recorded.
//
//   timeline_pages OUT_DIR
//
// threads_and_workers.html: spans from named threads (nested and overlapping asynchronous ones),
//   a thread pool's workers and a process pool's worker processes.
// hundred_thousand.html: 100,000 spans on four threads, for the page's level of detail.
// many_in_flight.html: 20,000 asynchronous spans on one thread, hundreds overlapping at a time.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "trident/exec/thread_pool.hpp"
#include "trident/proc/process_pool.hpp"
#include "trident/proc/worker_main.hpp"
#include "trident/trace/html_timeline.hpp"
#include "trident/trace/recorder.hpp"

namespace {

namespace fs = std::filesystem;
namespace trace = trident::trace;

long long collatz_steps(long long n) {
  long long steps = 0;
  for (; n != 1; ++steps) n = n % 2 == 0 ? n / 2 : 3 * n + 1;
  return steps;
}
TRIDENT_TASK(collatz_steps);

/// The most intervals [start, end) that overlap at one instant: the sub-rows a lane needs so
/// that its asynchronous spans never overlap within a row.
std::size_t most_at_once(const std::vector<std::pair<std::uint64_t, std::uint64_t>>& intervals) {
  std::vector<std::pair<std::uint64_t, int>> events;  // an end sorts before a start at the same time
  for (const auto& [start, end] : intervals) {
    events.emplace_back(start, 1);
    events.emplace_back(end, 0);
  }
  std::sort(events.begin(), events.end());
  std::size_t now = 0, most = 0;
  for (const auto& [at, is_start] : events) {
    if (is_start != 0) {
      most = std::max(most, ++now);
    } else {
      --now;
    }
  }
  return most;
}

/// What the page must show: every lane with spans, how many, the share of the traced time (first
/// start to last end) during which at least one of them ran, and the names given here.
nlohmann::json expected(const std::map<std::uint32_t, std::string>& names_given, const std::set<int>& worker_pids) {
  using interval = std::pair<std::uint64_t, std::uint64_t>;
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::vector<interval>> per_lane, async_per_lane;
  std::map<std::string, std::size_t> categories;
  std::size_t total = 0;
  std::uint64_t first = UINT64_MAX, last = 0;
  for (const auto& s : trace::snapshot()) {
    ++categories[s.category];
    per_lane[{s.process_id, s.thread_id}].emplace_back(s.start_ns, s.end_ns);
    if (s.async_id != 0) async_per_lane[{s.process_id, s.thread_id}].emplace_back(s.start_ns, s.end_ns);
    first = std::min(first, s.start_ns);
    last = std::max(last, s.end_ns);
    ++total;
  }
  nlohmann::json lanes = nlohmann::json::array();
  for (auto& [lane, spans] : per_lane) {
    std::sort(spans.begin(), spans.end());
    std::uint64_t busy = 0, covered_to = 0;
    for (const auto& [start, end] : spans) {
      const auto from = std::max(start, covered_to);
      if (end > from) busy += end - from;
      covered_to = std::max(covered_to, end);
    }
    const double busy_percent =
        last > first ? 100.0 * static_cast<double>(busy) / static_cast<double>(last - first) : 0;
    nlohmann::json entry{{"pid", lane.first},
                         {"tid", lane.second},
                         {"spans", spans.size()},
                         {"busyPercent", busy_percent},
                         {"asyncRows", most_at_once(async_per_lane[lane])}};
    if (auto it = names_given.find(lane.second);
        it != names_given.end() && lane.first == static_cast<std::uint32_t>(::getpid())) {
      entry["name"] = it->second;
    }
    lanes.push_back(entry);
  }
  return {{"spanCount", total},
          {"lanes", lanes},
          {"categories", categories},
          {"writerPid", ::getpid()},
          {"workerPids", worker_pids}};
}

void write_page(const fs::path& dir, const std::string& stem, const nlohmann::json& what) {
  trace::write_html_timeline_file((dir / (stem + ".html")).string());
  std::ofstream((dir / (stem + ".expected.json"))) << what.dump(2) << '\n';
}

void threads_and_workers(const fs::path& dir) {
  trace::clear();
  trace::set_process_name("timeline browser test");
  std::map<std::uint32_t, std::string> names_given;
  std::set<int> worker_pids;
  trace::start();
  {
    std::vector<std::thread> threads;
    std::vector<std::uint32_t> tids(3);
    for (int t = 0; t < 3; ++t) {
      threads.emplace_back([t, &tids] {
        tids[t] = static_cast<std::uint32_t>(::gettid());
        trace::set_thread_name("writer-" + std::to_string(t));
        for (int i = 0; i < 40; ++i) {
          trace::span outer("batch", "task", "batch " + std::to_string(i));
          {
            trace::span inner("step", "lesson");
            (void)collatz_steps(27 + i);
          }
          // Two transfers in flight together on this thread: asynchronous spans that overlap.
          const auto begin = trace::now_ns();
          (void)collatz_steps(97 + i);
          trace::record_async("download", "http", begin, trace::now_ns() + 2000, "file-a-" + std::to_string(i));
          trace::record_async("download", "http", begin + 500, trace::now_ns() + 3000, "file-b-" + std::to_string(i));
        }
        // Names that are special to JavaScript objects, and text that is special to HTML.
        const auto at = trace::now_ns();
        trace::record("constructor", "__proto__", at, at + 100, "</script><b>not bold</b>");
        trace::record("toString", "constructor", at + 200, at + 300);
      });
    }
    for (auto& th : threads) th.join();
    for (int t = 0; t < 3; ++t) names_given[tids[t]] = "writer-" + std::to_string(t);
  }
  {
    trident::exec::thread_pool pool(trident::exec::thread_pool_options{.workers = 2, .name = "cpu"});
    std::vector<trident::exec::future<long long>> results;
    for (long long n = 1; n <= 60; ++n) results.push_back(pool.submit([n] { return collatz_steps(n); }));
    for (auto& r : results) (void)r.get();
  }
  {
    trident::proc::process_pool pool(2);
    std::vector<long long> inputs;
    for (long long n = 1; n <= 16; ++n) inputs.push_back(n * 1000 + 1);
    (void)pool.map(collatz_steps, inputs, 1);  // a span per task on the workers' lanes
    for (int pid : pool.statistics().worker_pids) worker_pids.insert(pid);
  }
  trace::stop();
  write_page(dir, "threads_and_workers", expected(names_given, worker_pids));
}

void hundred_thousand(const fs::path& dir) {
  trace::clear();
  trace::set_process_name("hundred thousand spans");
  std::map<std::uint32_t, std::string> names_given;
  constexpr int threads = 4;
  constexpr int per_thread = 25'000;
  trace::start();
  {
    std::vector<std::thread> workers;
    std::vector<std::uint32_t> tids(threads);
    const auto origin = trace::now_ns();
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([t, &tids, origin] {
        tids[t] = static_cast<std::uint32_t>(::gettid());
        trace::set_thread_name("busy-" + std::to_string(t));
        // Spans of 200 ns to a few µs, every fifth one asynchronous and overlapping its
        // neighbours: at any zoom that fits the whole trace, most are narrower than a pixel.
        std::uint64_t at = origin + static_cast<std::uint64_t>(t) * 777;
        for (int i = 0; i < per_thread; ++i) {
          const std::uint64_t length = 200 + static_cast<std::uint64_t>((i * 7919 + t * 31) % 3000);
          if (i % 5 == 4) {
            trace::record_async("fetch", "http", at, at + 3 * length, std::to_string(i));
          } else {
            trace::record(i % 2 == 0 ? "compute" : "copy", i % 2 == 0 ? "thread_pool" : "task", at, at + length);
          }
          at += length + 50;
        }
      });
    }
    for (auto& w : workers) w.join();
    for (int t = 0; t < threads; ++t) names_given[tids[t]] = "busy-" + std::to_string(t);
  }
  trace::stop();
  write_page(dir, "hundred_thousand", expected(names_given, {}));
}

void many_in_flight(const fs::path& dir) {
  trace::clear();
  trace::set_process_name("many transfers in flight");
  std::map<std::uint32_t, std::string> names_given;
  trace::start();
  std::thread loop([&names_given] {
    names_given[static_cast<std::uint32_t>(::gettid())] = "event loop";
    trace::set_thread_name("event loop");
    // 20,000 transfers, one started every microsecond, each lasting 50 to 850 µs: hundreds in
    // flight at once, as on a loop thread that drives many downloads.
    const auto origin = trace::now_ns();
    for (std::uint64_t i = 0; i < 20'000; ++i) {
      const std::uint64_t start = origin + i * 1000;
      const std::uint64_t length = 50'000 + (i * 7919) % 800'000;
      trace::record_async("download", "http", start, start + length, "file " + std::to_string(i));
    }
  });
  loop.join();
  trace::stop();
  write_page(dir, "many_in_flight", expected(names_given, {}));
}

}  // namespace

int main(int argc, char** argv) {
  if (auto rc = trident::proc::worker_main(argc, argv)) return *rc;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  try {
    const fs::path dir = argv[1];
    fs::create_directories(dir);
    threads_and_workers(dir);
    hundred_thousand(dir);
    many_in_flight(dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "timeline_pages: %s\n", e.what());
    return 1;
  }
  return 0;
}
