// Lesson cell "Threading Basics": four simulated downloads, one after another and then one
// thread each. The threads spend their time waiting, so they overlap and the total time is
// about one download instead of four.

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "cell.hpp"
#include "trident/sync/synchronized.hpp"
#include "trident/trace/recorder.hpp"

namespace trident::lesson {
namespace {

constexpr int downloads = 4;
constexpr auto latency = std::chrono::milliseconds(150);  // the lesson's 0.5 s, shortened

std::string download_file(output& out, int file_id) {
  trace::span s("download", "lesson", "file " + std::to_string(file_id));
  out.line("Starting download {}", file_id);
  std::this_thread::sleep_for(latency);  // stands in for network latency
  out.line("Finished download {}", file_id);
  return "data_" + std::to_string(file_id);
}

}  // namespace

std::string threads_downloads(output& out) {
  out.line("=== Sequential Downloads ===");
  auto start = std::chrono::steady_clock::now();
  std::vector<std::string> sequential;
  for (int i = 0; i < downloads; ++i) sequential.push_back(download_file(out, i));
  const double sequential_s = seconds_since(start);
  out.line("Sequential time: {:.2f}s", sequential_s);

  out.line("=== Concurrent Downloads (one thread each) ===");
  trident::sync::synchronized<std::vector<std::string>> received{trident::sync::lock_name{"downloads"}};
  start = std::chrono::steady_clock::now();
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < downloads; ++i) {
      threads.emplace_back([&, i] {
        auto data = download_file(out, i);
        received.with_lock([&](auto& v) { v.push_back(std::move(data)); });
      });
    }
  }  // jthread joins here: every download has finished
  const double threaded_s = seconds_since(start);
  const double speedup = sequential_s / threaded_s;
  out.line("Threaded time: {:.2f}s", threaded_s);
  out.line("Speedup: {:.2f}x", speedup);

  const auto got = received.with_lock([](const auto& v) { return v.size(); });
  check(got == downloads, fmt::format("only {} of {} downloads finished", got, downloads));
  // Sleeping threads overlap even on one busy core; a generous bound keeps this check stable.
  check(threaded_s < 0.75 * sequential_s,
        fmt::format("threads did not overlap: {:.2f}s threaded vs {:.2f}s sequential", threaded_s, sequential_s));
  return fmt::format("speedup {:.2f}x ({:.2f}s -> {:.2f}s)", speedup, sequential_s, threaded_s);
}

}  // namespace trident::lesson
