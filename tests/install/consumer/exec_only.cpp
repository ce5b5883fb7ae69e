// Links trident::exec alone: the thread layer works without the event loop, processes or HTTP,
// and its headers stand without theirs.
#include <trident/exec/thread_pool.hpp>

#include <cstdio>

int main() {
  trident::exec::thread_pool pool(2);
  const int answer = pool.submit([] { return 6 * 7; }).get();
  std::printf("trident::exec alone: %d\n", answer);
  return answer == 42 ? 0 : 1;
}
