// Worker processes on the parent's timeline: while the parent traces, each worker records a
// span per task and sends it back; the parent's export has a lane per worker process, named
// "worker N (pid P)", and keeps the Chrome trace format (tools/check_trace.py).

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include <unistd.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "trace_check.hpp"
#include "trident/proc/process_pool.hpp"
#include "trident/testing/temp_dir.hpp"
#include "trident/trace/recorder.hpp"

namespace {

int traced_square(int x) { return x * x; }
TRIDENT_TASK(traced_square);

class process_pool_trace : public ::testing::Test {
 protected:
  void SetUp() override {
    trident::trace::stop();
    trident::trace::clear();
  }
  void TearDown() override {
    trident::trace::stop();
    trident::trace::clear();
  }
};

TEST_F(process_pool_trace, worker_tasks_appear_on_a_named_lane_per_worker_process) {
  namespace trace = trident::trace;
  trace::start();
  std::set<int> worker_pids;
  {
    trident::proc::process_pool pool(2);
    const auto squares = pool.map(traced_square, std::vector{1, 2, 3, 4, 5, 6});
    EXPECT_EQ(squares, (std::vector{1, 4, 9, 16, 25, 36}));
    for (int pid : pool.statistics().worker_pids) worker_pids.insert(pid);
  }
  trace::stop();
  std::set<int> span_pids;
  std::size_t task_spans = 0;
  for (const auto& s : trace::snapshot()) {
    if (std::string(s.category) != "process_pool") continue;
    ++task_spans;
    span_pids.insert(static_cast<int>(s.process_id));
    EXPECT_NE(static_cast<int>(s.process_id), ::getpid());
  }
  // map may send several items in one chunk: at least one span per chunk, each in a worker.
  EXPECT_GE(task_spans, 2u);
  for (int pid : span_pids) EXPECT_TRUE(worker_pids.contains(pid)) << pid;

  trident::testing::temp_dir dir{"trident-process-pool-trace"};
  const auto path = (dir.path / "pool.json").string();
  trace::write_chrome_json_file(path);
  const auto check = trident::testing::check_trace_file(path);
  EXPECT_EQ(check.exit_status, 0) << check.problems;

  std::ifstream in(path);
  const auto doc = nlohmann::json::parse(in);
  std::map<int, std::string> process_names;
  for (const auto& e : doc.at("traceEvents")) {
    if (e.at("ph") == "M" && e.at("name") == "process_name") {
      process_names[e.at("pid").get<int>()] = e.at("args").at("name").get<std::string>();
    }
  }
  for (int pid : span_pids) {
    const std::string& name = process_names[pid];
    EXPECT_EQ(name.rfind("worker ", 0), 0u) << name;
    EXPECT_NE(name.find("(pid " + std::to_string(pid) + ")"), std::string::npos) << name;
  }
}

TEST_F(process_pool_trace, untraced_pool_brings_back_no_worker_spans) {
  trident::proc::process_pool pool(1);
  EXPECT_EQ(pool.submit(traced_square, 7).get(), 49);
  EXPECT_TRUE(trident::trace::snapshot().empty());
}

}  // namespace
