// Lesson cell "The Global Interpreter Lock": the same CPU-bound function twice in a row, then on
// two threads at once. CPython's GIL keeps the threaded run as slow as the sequential one; C++
// threads run on two cores at the same time, so here the threaded run is faster.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <thread>

#include "cell.hpp"
#include "trident/trace/recorder.hpp"

namespace trident::lesson {
namespace {

/// The lesson's CPU-bound work: the sum of i*i for i < n (modulo 2^64).
std::uint64_t sum_of_squares(std::uint64_t n) {
  std::uint64_t total = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    total += i * i;
    // An empty asm that "may change" total: without it the optimiser replaces the loop by a
    // closed formula (clang) or vectorises it, and there is nothing left to measure.
    asm volatile("" : "+r"(total));
  }
  return total;
}

/// Picks n so that one call takes about `target`, and at least the lesson's 1'000'000, so the
/// demo is measurable yet quick in optimised and debug builds alike.
std::uint64_t calibrate(std::chrono::duration<double> target) {
  std::uint64_t n = 1'000'000;
  for (;;) {
    const auto start = std::chrono::steady_clock::now();
    (void)sum_of_squares(n);
    const double took = seconds_since(start);
    if (took >= 0.02) {
      return std::max<std::uint64_t>(1'000'000, static_cast<std::uint64_t>(static_cast<double>(n) * target.count() / took));
    }
    n *= 4;
  }
}

}  // namespace

std::string gil_demo(output& out) {
  const std::uint64_t n = calibrate(std::chrono::milliseconds(80));
  out.line("CPU-bound task: sum of i*i for i < {} (n calibrated to ~80 ms per call)", n);

  // Best of three runs each: on a shared machine one run can lose its core to another process.
  constexpr int runs = 3;
  std::uint64_t sequential[2] = {0, 0};
  double single = 1e9;
  for (int r = 0; r < runs; ++r) {
    trace::span s("sequential", "lesson");
    const auto start = std::chrono::steady_clock::now();
    sequential[0] = sum_of_squares(n);
    sequential[1] = sum_of_squares(n);
    single = std::min(single, seconds_since(start));
  }
  out.line("Single-threaded: {:.3f}s (best of {})", single, runs);

  std::uint64_t threaded[2] = {0, 0};
  double multi = 1e9;
  for (int r = 0; r < runs; ++r) {
    const auto start = std::chrono::steady_clock::now();
    {
      // Two threads, as in the lesson; each writes only its own slot, and join() publishes it.
      std::jthread t1([&] { trace::span s("sum_of_squares", "lesson", "thread 1"); threaded[0] = sum_of_squares(n); });
      std::jthread t2([&] { trace::span s("sum_of_squares", "lesson", "thread 2"); threaded[1] = sum_of_squares(n); });
    }
    multi = std::min(multi, seconds_since(start));
  }
  const double speedup = single / multi;
  out.line("Multi-threaded:  {:.3f}s (best of {})", multi, runs);
  out.line("Threading speedup: {:.2f}x on {} hardware threads (CPython's GIL gives ~1.0x here)", speedup,
           std::thread::hardware_concurrency());

  if (speedup < 1.3 && std::thread::hardware_concurrency() >= 2) {
    out.line("(Below the ~1.8-2x an idle two-core machine shows: other processes are using the cores.)");
  }

  check(threaded[0] == sequential[0] && threaded[1] == sequential[1], "threads computed a different sum");
  return fmt::format("speedup {:.2f}x ({:.3f}s -> {:.3f}s)", speedup, single, multi);
}

}  // namespace trident::lesson
