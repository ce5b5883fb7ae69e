// Links trident::proc (and the layers it sits on): a process pool maps a registered task over
// four inputs in worker processes of this same binary.
#include <trident/proc/process_pool.hpp>
#include <trident/proc/worker_main.hpp>

#include <unistd.h>

#include <cstdio>
#include <utility>
#include <vector>

namespace {

std::pair<int, int> cube_with_pid(int x) { return {x * x * x, trident::proc::current_pid()}; }
TRIDENT_TASK(cube_with_pid);

}  // namespace

int main(int argc, char** argv) {
  if (auto rc = trident::proc::worker_main(argc, argv)) return *rc;
  trident::proc::process_pool pool(2);
  const auto results = pool.map(cube_with_pid, std::vector<int>{1, 2, 3, 4});
  int sum = 0;
  bool in_workers = true;
  for (const auto& [cube, pid] : results) {
    sum += cube;
    in_workers = in_workers && pid != ::getpid();
  }
  std::printf("trident::proc: cubes of 1..4 sum to %d in worker processes: %s\n", sum, in_workers ? "yes" : "no");
  return sum == 100 && in_workers ? 0 : 1;
}
