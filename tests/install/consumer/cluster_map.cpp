// Links trident::cluster (MPI through it): maps a registered task with a cluster_pool, alone (a
// local process pool) or as the driver of an mpirun job.
#include <trident/cluster.hpp>

#include <cstdio>
#include <vector>

namespace {

int square(int x) { return x * x; }
TRIDENT_TASK(square);

}  // namespace

int main(int argc, char** argv) {
  if (auto rc = trident::cluster::worker_main(argc, argv)) return *rc;
  trident::cluster::cluster_pool_options options;
  options.local_workers = 2;
  options.workers_per_rank = 1;
  trident::cluster::cluster_pool pool(options);
  const auto squares = pool.map(square, std::vector<int>{1, 2, 3, 4, 5}, 2);
  int sum = 0;
  for (int s : squares) sum += s;
  std::printf("trident::cluster: squares of 1..5 sum to %d, on %d rank(s)\n", sum, trident::cluster::ranks());
  return sum == 55 ? 0 : 1;
}
