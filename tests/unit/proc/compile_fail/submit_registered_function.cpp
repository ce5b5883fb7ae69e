// Must compile: the control for the failures next to it (same compiler, flags and headers).
#include "trident/proc/process_pool.hpp"

int twice(int a) { return 2 * a; }
TRIDENT_TASK(twice);

void use(trident::proc::process_pool& pool) { (void)pool.submit(twice, 21); }
