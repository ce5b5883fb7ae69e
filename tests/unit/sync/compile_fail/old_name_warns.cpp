// A 0.1 spelling of a sync name (`trident::mutex`) still compiles, with a deprecation warning
// that names the new spelling; made an error here so that the test sees it.
#pragma GCC diagnostic error "-Wdeprecated-declarations"

#include <mutex>

#include "trident/sync/mutex.hpp"

int main() {
  trident::mutex m{"old-name"};
  std::lock_guard guard{m};
  return 0;
}
