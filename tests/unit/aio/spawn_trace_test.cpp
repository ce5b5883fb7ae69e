// Spawned coroutine tasks on the timeline: they interleave on the loop thread, so each is an
// asynchronous span ("b"/"e" with an id), never a complete event on the thread's lane.

#include <gtest/gtest.h>

#include <chrono>
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

TEST_F(spawn_trace, nothing_is_recorded_while_tracing_is_off) {
  EXPECT_EQ(run(spawn_five()), 10);
  EXPECT_TRUE(trace::snapshot().empty());
}

}  // namespace
}  // namespace trident::aio
