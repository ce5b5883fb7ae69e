// Lesson "Exercise 1: Parallel Data Processor": check numbers for primality sequentially, then on
// a process pool, and compare. The lesson's eight numbers take microseconds in C++, far less
// than starting a worker, so the cell uses the lesson's numbers for the output and a larger
// batch (large odd numbers near 10^12) for the timing. Speedup depends on free cores: the cell
// checks the results, not the speed.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "cell.hpp"
#include "prime_exercise.hpp"
#include "trident/proc/process_pool.hpp"

namespace trident::lesson {

namespace {

/// n² written out exactly, as Python's integers would (numbers past 3·10⁹ overflow 64 bits).
std::string exact_square(std::int64_t n) {
  __extension__ typedef unsigned __int128 wide;
  const std::uint64_t magnitude = n < 0 ? 0 - static_cast<std::uint64_t>(n) : static_cast<std::uint64_t>(n);
  wide value = static_cast<wide>(magnitude) * magnitude;
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(value % 10)));
    value /= 10;
  } while (value != 0);
  return digits;
}

bool is_prime(std::int64_t n) {
  if (n < 2) return false;
  if (n % 2 == 0) return n == 2;
  for (std::int64_t i = 3; i * i <= n; i += 2) {
    if (n % i == 0) return false;
  }
  return true;
}

}  // namespace

number_facts process_number(std::int64_t n) { return {n, is_prime(n), exact_square(n)}; }
TRIDENT_TASK(process_number);

std::string prime_exercise(output& out) {
  const std::vector<std::int64_t> lesson_numbers{104729, 104743, 104759, 104761, 104773, 104779, 104789, 104801};
  std::vector<std::int64_t> numbers;
  for (std::int64_t n = 1'000'000'000'039; numbers.size() < 200; n += 2) numbers.push_back(n);

  proc::process_pool pool(2);
  for (const auto& r : pool.map(process_number, lesson_numbers)) {
    out.line("  {}: prime={} square={}", r.number, r.is_prime, r.square);
  }

  auto start = std::chrono::steady_clock::now();
  std::vector<number_facts> sequential;
  for (auto n : numbers) sequential.push_back(process_number(n));
  const double seq_s = seconds_since(start);
  out.line("Sequential: {:.3f}s for {} numbers", seq_s, numbers.size());

  start = std::chrono::steady_clock::now();
  const auto parallel = pool.map(process_number, numbers);
  const double par_s = seconds_since(start);
  out.line("Process pool (2 workers): {:.3f}s", par_s);
  out.line("Speedup: {:.2f}x", seq_s / par_s);

  check(parallel == sequential, "the pool's results differ from the sequential ones");
  std::size_t primes = 0;
  for (const auto& r : parallel) primes += r.is_prime;
  return fmt::format("{} of {} numbers prime; sequential {:.3f}s, pool {:.3f}s, speedup {:.2f}x", primes,
                     numbers.size(), seq_s, par_s, seq_s / par_s);
}

}  // namespace trident::lesson
