// main() of the process-layer test programs: the binary is also its own worker process, so
// Trident gets the first word; then one helper mode for the parent-death test; then GoogleTest.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "trident/proc/process_pool.hpp"
#include "trident/proc/worker_main.hpp"

int main(int argc, char** argv) {
  // TRIDENT_TEST_FORGETFUL_MAIN plays a program that forgot the worker_main line: as a worker it
  // runs "its own main" instead, which exits at once ("exit") or never answers ("hang").
  if (const char* forgetful = std::getenv("TRIDENT_TEST_FORGETFUL_MAIN");
      forgetful != nullptr && argc > 1 && std::strncmp(argv[1], "--trident-worker", 16) == 0) {
    if (std::strcmp(forgetful, "hang") == 0) std::this_thread::sleep_for(std::chrono::minutes(5));
    return 0;
  }
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
