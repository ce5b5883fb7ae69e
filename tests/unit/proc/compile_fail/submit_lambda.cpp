// Must not compile: a lambda cannot be a process-pool task.
#include "trident/proc/process_pool.hpp"

void use(trident::proc::process_pool& pool) {
  (void)pool.submit([](int x) { return x * 2; }, 21);
}
