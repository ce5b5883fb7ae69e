// main() of the scenario tests: the binary is its own process-pool worker and runs its own scenario
// services (detached processes, as the trident command does), then the db tests' helper modes,
// then GoogleTest.

#include <gtest/gtest.h>

#include <optional>

#include "trident/proc/worker_main.hpp"

// db_test.cpp's helper modes (a starter to kill while it runs the db scenario or holds a server).
std::optional<int> db_test_helper_main(int argc, char** argv);

int main(int argc, char** argv) {
  if (auto rc = trident::proc::worker_main(argc, argv)) return *rc;
  if (auto rc = db_test_helper_main(argc, argv)) return *rc;
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
