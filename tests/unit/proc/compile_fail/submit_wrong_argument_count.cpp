// Must not compile: the task takes two arguments, the call passes one.
#include "trident/proc/process_pool.hpp"

int add(int a, int b) { return a + b; }
TRIDENT_TASK(add);

void use(trident::proc::process_pool& pool) { (void)pool.submit(add, 1); }
