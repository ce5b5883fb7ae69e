// main() of the process-layer test programs: the binary is also its own worker process, so
// Trident gets the first word; then one helper mode for the parent-death test; then GoogleTest.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "trident/proc/process_pool.hpp"
#include "trident/proc/worker_main.hpp"

int main(int argc, char** argv) {
  if (auto rc = trident::proc::worker_main(argc, argv)) return *rc;
  if (argc > 1 && std::strcmp(argv[1], "--pool-parent-helper") == 0) {
    // Starts a pool, prints its workers' PIDs, then waits to be killed by the test.
    trident::proc::process_pool pool(2);
    for (int pid : pool.statistics().worker_pids) std::printf("%d\n", pid);
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::minutes(5));
    return 0;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
