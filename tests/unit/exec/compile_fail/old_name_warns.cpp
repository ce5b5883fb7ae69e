// A 0.1 spelling of an exec name (`trident::thread_pool`) still compiles, with a deprecation
// warning that names the new spelling; made an error here so that the test sees it.
#pragma GCC diagnostic error "-Wdeprecated-declarations"

#include "trident/exec/thread_pool.hpp"

int main() {
  trident::thread_pool pool(1);
  return pool.submit([] { return 0; }).get();
}
