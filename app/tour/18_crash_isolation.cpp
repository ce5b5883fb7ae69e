// Crash isolation, which no Python pool offers: one task dereferences a null pointer on purpose.
// Its worker dies of SIGSEGV; that task's future reports the signal, the pool starts a new
// worker, and every other task still completes. (Python's ProcessPoolExecutor would raise
// BrokenProcessPool for all pending work; native code run in threads would take the whole
// program down.)

#include <csignal>
#include <cstdint>
#include <string>
#include <vector>

#include "cell.hpp"
#include "trident/proc/process_pool.hpp"

namespace trident::lesson {

namespace {

// Read at run time, so the compiler neither folds the bad store nor warns about it.
volatile std::uintptr_t bad_address = 8;

int risky_square(int x) {
  if (x == 7) {
    // The bug: a field written through a null struct pointer (address 8), a segfault in native
    // code.
    volatile int* nowhere = reinterpret_cast<volatile int*>(bad_address);
    *nowhere = x;
  }
  return x * x;
}
TRIDENT_TASK(risky_square);

}  // namespace

std::string crash_isolation(output& out) {
  proc::process_pool pool(2);
  std::vector<exec::future<int>> results;
  for (int i = 0; i < 12; ++i) results.push_back(pool.submit(risky_square, i));
  int ok = 0;
  int crashed = 0;
  int crash_signal = 0;
  for (int i = 0; i < 12; ++i) {
    try {
      const int v = results[i].get();
      check(v == i * i, "wrong result");
      ++ok;
      out.line("  task {:2}: {}", i, v);
    } catch (const proc::worker_crashed_error& e) {
      ++crashed;
      crash_signal = e.signal();
      out.line("  task {:2}: FAILED: {}", i, e.what());
    }
  }
  const auto stats = pool.statistics();
  out.line("Pool: {} worker processes started for 2 slots (one replacement), {} task crashed", stats.started,
           stats.crashed);
  check(crashed == 1 && crash_signal == SIGSEGV, "the segfault was not reported as exactly one SIGSEGV");
  check(ok == 11, "other tasks did not all complete");
  check(pool.submit(risky_square, 3).get() == 9, "the pool did not recover");
  return fmt::format("{} tasks ok, 1 failed with SIGSEGV; the pool replaced the worker and went on", ok);
}

}  // namespace trident::lesson
