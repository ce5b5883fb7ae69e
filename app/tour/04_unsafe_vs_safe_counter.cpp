// Lesson exercise "Thread Safety and Locks": five threads increment a counter 1000 times each.
// The unsafe counter reads, pauses, and writes back: two threads that read the same value
// write the same result, and one increment is lost. The safe counter does the same steps
// under a lock and always ends at 5000.
//
// The unsafe counter is a std::atomic read and a separate atomic write, not a plain int: the
// increment as a whole is still not atomic (a real lost update, the race the lesson shows),
// but there is no data race, which would be undefined behaviour in C++ and which
// ThreadSanitizer would (rightly) report.

#include <atomic>
#include <chrono>
#include <latch>
#include <thread>
#include <vector>

#include "cell.hpp"
#include "trident/sync/synchronized.hpp"
#include "trident/trace/recorder.hpp"

namespace trident::lesson {
namespace {

constexpr int threads = 5;
constexpr int iterations = 1000;
/// The pause between read and write (the lesson sleeps 10 ms). Any sleep widens the window far
/// beyond the time another thread needs to read the same value.
constexpr auto pause = std::chrono::microseconds(1);

class unsafe_counter {
 public:
  void increment() {
    const int current = count_.load(std::memory_order_relaxed);  // read
    std::this_thread::sleep_for(pause);                          // another thread reads the same value
    count_.store(current + 1, std::memory_order_relaxed);        // write back: overwrites its update
  }
  [[nodiscard]] int value() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int> count_{0};
};

class safe_counter {
 public:
  void increment() {
    count_.with_lock([](int& count) {
      const int current = count;
      std::this_thread::sleep_for(pause);
      count = current + 1;
    });
  }
  [[nodiscard]] int value() const {
    return count_.with_lock([](int count) { return count; });
  }

 private:
  trident::sync::synchronized<int> count_{trident::sync::lock_name{"counter"}, 0};
};

/// Runs `threads` threads of `iterations` increments each, released together.
template <class Counter>
void hammer(Counter& counter, const char* label) {
  std::latch start(threads);
  std::vector<std::jthread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      start.arrive_and_wait();
      trace::span s(label, "lesson");
      for (int i = 0; i < iterations; ++i) counter.increment();
    });
  }
}

}  // namespace

std::string unsafe_vs_safe_counter(output& out) {
  constexpr int expected = threads * iterations;

  unsafe_counter unsafe;
  auto start = std::chrono::steady_clock::now();
  hammer(unsafe, "unsafe increments");
  out.line("Unsafe counter: {} of {} ({} updates lost) in {:.2f}s", unsafe.value(), expected, expected - unsafe.value(),
           seconds_since(start));

  safe_counter safe;
  start = std::chrono::steady_clock::now();
  hammer(safe, "safe increments");
  out.line("Safe counter:   {} of {} in {:.2f}s (the lock serialises the pauses)", safe.value(), expected,
           seconds_since(start));

  const std::string result = fmt::format("unsafe {}/{}, safe {}/{}", unsafe.value(), expected, safe.value(), expected);
  check(safe.value() == expected, result + ": the locked counter lost updates");
  check(unsafe.value() < expected, result + ": the unsafe counter lost no update this time");
  return result;
}

}  // namespace trident::lesson
