// A thread pool's timeline (`--trace`): a span per task on its worker's lane, every lane named,
// and the whole trace within the Chrome trace format's rules (tools/check_trace.py).

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "trace_check.hpp"
#include "trident/exec/thread_pool.hpp"
#include "trident/testing/temp_dir.hpp"
#include "trident/trace/recorder.hpp"

namespace trident::exec {
namespace {

TEST(thread_pool_trace, tasks_and_nested_tasks_give_a_trace_that_keeps_the_format) {
  trace::stop();
  trace::clear();
  trace::start();
  {
    thread_pool_options options;
    options.workers = 3;
    options.name = "traced-pool";
    thread_pool pool(options);
    std::vector<future<int>> results;
    for (int i = 0; i < 30; ++i) {
      // Every third task waits on a nested task: the waiting worker may run queued tasks
      // meanwhile, so task spans nest on one lane, which the format allows.
      results.push_back(pool.submit([&pool, i] {
        if (i % 3 != 0) return i;
        return pool.submit([i] { return i; }).get();
      }));
    }
    for (int i = 0; i < 30; ++i) EXPECT_EQ(results[i].get(), i);
  }
  trace::stop();
  std::size_t task_spans = 0;
  for (const auto& s : trace::snapshot()) task_spans += std::string(s.category) == "thread_pool";
  EXPECT_EQ(task_spans, 40u);  // 30 tasks and 10 nested ones

  testing::temp_dir dir{"trident-pool-trace"};
  const auto path = (dir.path / "pool.json").string();
  trace::write_chrome_json_file(path);
  trace::clear();
  const auto check = testing::check_trace_file(path);
  EXPECT_EQ(check.exit_status, 0) << check.problems;
}

}  // namespace
}  // namespace trident::exec
