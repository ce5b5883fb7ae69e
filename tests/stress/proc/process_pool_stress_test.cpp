// Many tasks, some of which crash their worker in different ways, on a small pool: every other
// task still completes with the right value, every crash is reported, and nothing is left over.

#include <gtest/gtest.h>
#include <signal.h>

#include <cstdint>
#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "../../unit/proc/proc_test_support.hpp"
#include "trident/proc/process_pool.hpp"

namespace {

// Read at run time, so the compiler neither folds the bad store nor warns about it.
volatile std::uintptr_t bad_address = 8;

int maybe_crash(int x, int how) {
  switch (how) {
    case 1: {
      volatile int* p = reinterpret_cast<volatile int*>(bad_address);  // see the unit test
      *p = x;
      break;
    }
    case 2:
      std::abort();
    case 3:
      ::raise(SIGKILL);
      break;
    case 4:
      throw std::runtime_error("task " + std::to_string(x));
    default:
      break;
  }
  return x + 1;
}
TRIDENT_TASK(maybe_crash);

TEST(process_pool_stress, crashes_among_thousands_of_tasks) {
  const auto shm_before = trident::proc::testing::dev_shm_entries();
  std::mt19937 rng(7);
  std::vector<int> how(3000, 0);
  for (auto& h : how) h = rng() % 100 < 2 ? 1 + static_cast<int>(rng() % 4) : 0;
  std::size_t crashes = 0;
  std::size_t errors = 0;
  {
    trident::proc::process_pool pool(trident::proc::process_pool_options{.workers = 3, .max_tasks_per_child = 500});
    std::vector<trident::exec::future<int>> fs;
    for (int i = 0; i < 3000; ++i) fs.push_back(pool.submit(maybe_crash, i, how[i]));
    for (int i = 0; i < 3000; ++i) {
      try {
        EXPECT_EQ(fs[i].get(), i + 1);
        EXPECT_EQ(how[i], 0);
      } catch (const trident::proc::worker_crashed_error& e) {
        ++crashes;
        EXPECT_TRUE(how[i] >= 1 && how[i] <= 3) << i << ": " << e.what();
      } catch (const trident::proc::remote_error& e) {
        ++errors;
        EXPECT_EQ(how[i], 4) << i;
      }
    }
  }
  std::size_t expected_crashes = 0;
  std::size_t expected_errors = 0;
  for (int h : how) {
    expected_crashes += h >= 1 && h <= 3;
    expected_errors += h == 4;
  }
  EXPECT_EQ(crashes, expected_crashes);
  EXPECT_EQ(errors, expected_errors);
  EXPECT_EQ(trident::proc::testing::wait_for_children(0), 0u);
  EXPECT_EQ(trident::proc::testing::dev_shm_entries(), shm_before);
}

}  // namespace
