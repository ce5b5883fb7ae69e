// Must not compile: a string literal is no int.
#include "trident/proc/process_pool.hpp"

int twice(int a) { return 2 * a; }
TRIDENT_TASK(twice);

void use(trident::proc::process_pool& pool) { (void)pool.submit(twice, "forty"); }
