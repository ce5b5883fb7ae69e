// main() of the cluster-layer test programs: the binary is also its own worker process (the
// local pool a cluster_pool uses alone), so the cluster layer gets the first word.

#include <gtest/gtest.h>

#include "trident/cluster/worker_main.hpp"

int main(int argc, char** argv) {
  if (auto rc = trident::cluster::worker_main(argc, argv)) return *rc;
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
