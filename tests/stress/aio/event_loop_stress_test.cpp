#include "trident/aio/event_loop.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "trident/aio/gather.hpp"
#include "trident/aio/run.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/aio/spawn.hpp"

namespace trident::aio {
namespace {

using namespace std::chrono_literals;

#if defined(__SANITIZE_THREAD__)
constexpr int task_count = 200'000;  // TSan's memory and time overhead: same paths, fewer tasks
#else
constexpr int task_count = 1'000'000;  // also under AddressSanitizer, whose leak check runs at exit
#endif

task<int> napper(int i) {
  co_await sleep(std::chrono::milliseconds(i % 3));
  co_return i % 7;
}

TEST(event_loop_stress, a_million_spawned_tasks_finish_and_free_everything) {
  const long total = run([]() -> task<long> {
    std::vector<task_handle<int>> handles;
    handles.reserve(task_count);
    for (int i = 0; i < task_count; ++i) handles.push_back(spawn(napper(i)));
    long sum = 0;
    for (auto& h : handles) sum += co_await h;
    co_return sum;
  }());
  long expected = 0;
  for (int i = 0; i < task_count; ++i) expected += i % 7;
  EXPECT_EQ(total, expected);
}

TEST(event_loop_stress, cancelling_many_sleepers_at_shutdown_leaves_nothing_behind) {
  int cleaned = 0;
  auto sleeper = [&cleaned]() -> task<void> {
    struct on_exit {
      int* n;
      ~on_exit() { ++*n; }
    } guard{&cleaned};
    co_await sleep(1h);
  };
  run([&]() -> task<void> {
    for (int i = 0; i < task_count / 10; ++i) spawn(sleeper());
    co_await sleep(1ms);
  }());
  EXPECT_EQ(cleaned, task_count / 10);
}

}  // namespace
}  // namespace trident::aio
