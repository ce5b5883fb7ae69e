// main() of the scenario tests: the binary is its own process-pool worker and its own scenario
// service (as the trident command is), then one helper mode for the service tests, then GoogleTest.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <thread>

#include "service_process.hpp"
#include "trident/proc/worker_main.hpp"

// db_test.cpp's helper modes (a starter to kill while it runs the db scenario or holds a server).
std::optional<int> db_test_helper_main(int argc, char** argv);

int main(int argc, char** argv) {
  if (auto rc = trident::proc::worker_main(argc, argv)) return *rc;
  if (auto rc = trident::scenarios::service_main(argc, argv)) return *rc;
  if (auto rc = db_test_helper_main(argc, argv)) return *rc;
  if (argc > 2 && std::strcmp(argv[1], "--start-service-and-wait") == 0) {
    // Starts service argv[2], prints its pid, then waits to be killed by the test.
    trident::scenarios::service_process service(argv[2], {});
    std::printf("%d\n", service.pid());
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::minutes(5));
    return 0;
  }
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
