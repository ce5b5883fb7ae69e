// Spawned coroutine tasks on the timeline: they interleave on the loop thread, so each is an
// asynchronous span ("b"/"e" with an id), never a complete event on the thread's lane.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "trace_check.hpp"
#include "trident/aio/run.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/aio/spawn.hpp"
#include "trident/testing/temp_dir.hpp"
#include "trident/trace/recorder.hpp"

namespace trident::aio {
namespace {

using namespace std::chrono_literals;

task<int> step_twice(int id) {
  co_await sleep(1ms);
  co_await sleep(1ms);
  co_return id;
}

task<int> spawn_five() {
  std::vector<task_handle<int>> handles;
  for (int i = 0; i < 5; ++i) handles.push_back(spawn(step_twice(i), "stepper"));
  int sum = 0;
  for (auto& h : handles) sum += co_await h;
  co_return sum;
}

class spawn_trace : public ::testing::Test {
 protected:
  void SetUp() override {
    trace::stop();
    trace::clear();
  }
  void TearDown() override {
    trace::stop();
    trace::clear();
  }
};

TEST_F(spawn_trace, each_spawned_task_is_one_async_span_and_the_trace_keeps_the_format) {
  trace::start();
  EXPECT_EQ(run(spawn_five()), 10);
  trace::stop();
  std::size_t steppers = 0;
  for (const auto& s : trace::snapshot()) {
    if (std::string(s.name) != "stepper") continue;
    ++steppers;
    EXPECT_STREQ(s.category, "coroutine");
    EXPECT_NE(s.async_id, 0u);
    EXPECT_LE(s.start_ns, s.end_ns);
  }
  EXPECT_EQ(steppers, 5u);

  testing::temp_dir dir{"trident-spawn-trace"};
  const auto path = (dir.path / "spawn.json").string();
  trace::write_chrome_json_file(path);
  const auto check = testing::check_trace_file(path);
  EXPECT_EQ(check.exit_status, 0) << check.problems;
}

struct alignas(16) wide_value {
  long double v = 0;
};

task<wide_value> wide(long double v) {
  co_await sleep(1ms);
  co_return wide_value{v};
}

// Named and traced states carry the name and the spawn time in front of them: an unnamed task
// is "task", a state with a 16-byte alignment stays aligned, and the times are the spawn's.
TEST_F(spawn_trace, unnamed_and_over_aligned_tasks_keep_their_names_times_and_alignment) {
  trace::start();
  const std::uint64_t before = trace::now_ns();
  run([]() -> task<void> {
    auto unnamed = spawn(step_twice(7));
    auto named = spawn(wide(2.5L), "wide");
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(named.state()) % 16, 0u);
    EXPECT_EQ(co_await unnamed, 7);
    EXPECT_EQ((co_await named).v, 2.5L);
  }());
  trace::stop();
  std::map<std::string, int> spans;
  for (const auto& s : trace::snapshot()) {
    if (std::string(s.category) != "coroutine") continue;
    ++spans[s.name];
    EXPECT_GE(s.start_ns, before) << s.name;
    EXPECT_LE(s.start_ns, s.end_ns) << s.name;
  }
  EXPECT_EQ(spans["task"], 1);
  EXPECT_EQ(spans["wide"], 1);
  EXPECT_EQ(spans["main"], 1);  // run()'s own task
}

// The state of an unnamed, untraced task: the context (cancel hook and its argument, the
// outcome callback, flags and count), the live-task links, the joiners and one slot for the
// root handle or the exception. docs/aio.md counts a sleeping task's bytes with it.
TEST(spawned_state, an_unnamed_task_state_is_64_bytes) { EXPECT_EQ(sizeof(detail::spawned_state<void>), 64u); }

TEST_F(spawn_trace, nothing_is_recorded_while_tracing_is_off) {
  EXPECT_EQ(run(spawn_five()), 10);
  EXPECT_TRUE(trace::snapshot().empty());
}

}  // namespace
}  // namespace trident::aio
