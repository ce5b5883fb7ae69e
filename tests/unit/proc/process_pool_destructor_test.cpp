// process_pool's destructor never throws: where it cannot do its job (join the pool's I/O
// thread), it says why on stderr and ends the program on purpose, instead of letting an
// exception escape a destructor (std::terminate with only the exception's text).

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <thread>

#include "trident/exec/continuation.hpp"
#include "trident/proc/process_pool.hpp"

namespace {

int sleeps_then_doubles(int x) {
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  return 2 * x;
}
TRIDENT_TASK(sleeps_then_doubles);

/// Holds the last owner of a pool and drops it when the future fires: on the pool's own I/O
/// thread, which is what the continuation contract forbids.
struct drop_pool_when_ready final : trident::exec::continuation {
  std::unique_ptr<trident::proc::process_pool> pool;
  drop_pool_when_ready() { fire = &on_fire; }
  static void on_fire(trident::exec::continuation* c) noexcept { static_cast<drop_pool_when_ready*>(c)->pool.reset(); }
};

TEST(process_pool_destructor, destroyed_on_its_own_io_thread_it_says_why_and_ends_the_program) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // the pool starts threads and processes
  EXPECT_DEATH(
      {
        auto pool = std::make_unique<trident::proc::process_pool>(1);
        auto f = pool->submit(sleeps_then_doubles, 21);
        auto* node = new drop_pool_when_ready();  // fires once; the program ends in it
        node->pool = std::move(pool);
        // Registered long before the task's 300 ms are over; if not, the death test fails
        // (exit code 3, and nothing said on stderr).
        if (!trident::exec::add_continuation(f, *node)) std::_Exit(3);
        std::this_thread::sleep_for(std::chrono::seconds(30));
        std::_Exit(4);
      },
      "~process_pool could not stop its I/O thread .*own I/O thread");
}

TEST(process_pool_destructor, destroyed_elsewhere_it_finishes_queued_work_first) {
  std::unique_ptr<trident::proc::process_pool> pool = std::make_unique<trident::proc::process_pool>(1);
  auto f = pool->submit(sleeps_then_doubles, 21);
  pool.reset();  // shutdown(wait): the queued task still runs
  EXPECT_EQ(f.get(), 42);
}

}  // namespace
