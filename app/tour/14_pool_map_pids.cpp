// Lesson cell "Multiprocessing": Pool.map over four inputs, each task reporting the PID of the
// worker process that ran it. The task is registered by name (TRIDENT_TASK) so a worker — this
// same binary, re-executed — can find it; the result carries the worker's PID back.

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include "cell.hpp"
#include "trident/proc/process_pool.hpp"
#include "trident/proc/worker_main.hpp"

namespace trident::lesson {

namespace {

/// The lesson's task: the sum of squares below x, and who computed it.
std::pair<std::uint64_t, int> sum_of_squares_with_pid(std::uint64_t x) {
  std::uint64_t total = 0;
  for (std::uint64_t i = 0; i < x; ++i) total += i * i;  // modulo 2^64, as C++ integers do
  return {total, proc::current_pid()};
}
TRIDENT_TASK(sum_of_squares_with_pid);

}  // namespace

std::string pool_map_pids(output& out) {
  out.line("Main process ID: {}", ::getpid());
  out.line("Starting a process pool of 2 workers...");
  proc::process_pool pool(2);
  const std::vector<std::uint64_t> inputs{1'000'000, 2'000'000, 3'000'000, 4'000'000};
  const auto results = pool.map(sum_of_squares_with_pid, inputs);
  std::set<int> pids;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    out.line("Task {} result: {} (processed by PID {})", inputs[i], results[i].first, results[i].second);
    pids.insert(results[i].second);
  }
  std::uint64_t expected = 0;
  for (std::uint64_t i = 0; i < inputs[0]; ++i) expected += i * i;
  check(results[0].first == expected, "wrong sum for the first task");
  check(!pids.contains(::getpid()), "a task ran in the main process");
  return fmt::format("4 tasks on {} worker process(es), none in the main process {}", pids.size(), ::getpid());
}

}  // namespace trident::lesson
