#include <trident/trident.hpp>

#include <cstdio>

int main() {
  trident::exec::thread_pool pool(2);
  const int answer = pool.submit([] { return 6 * 7; }).get();
  std::printf("trident %s from an install prefix: %d\n", TRIDENT_VERSION_STRING, answer);
  return answer == 42 ? 0 : 1;
}
