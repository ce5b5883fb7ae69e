// A scenario's timeline tells its models apart: a span per model on the main lane, the child
// process of each run named after its model, pools named after their model, and the requests of
// every model (the async ones as asynchronous spans).

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "scenario_runner.hpp"
#include "scenario.hpp"
#include "trident/trace/recorder.hpp"

namespace trident::scenarios {
namespace {

TEST(ScenarioTimeline, MarksEachModelItsProcessItsPoolsAndItsRequests) {
  scenario_options options;
  options.size = scale::small;
  options.cores = 2;
  const scenario s = make_web_scenario(options);
  trace::clear();
  trace::start();
  run_options run;
  run.repeat = 1;
  const scenario_report report = run_scenario(s, run);
  trace::stop();
  std::ostringstream out;
  trace::write_chrome_json(out);
  trace::clear();
  const auto events = nlohmann::json::parse(out.str()).at("traceEvents");

  const int own_pid = static_cast<int>(::getpid());
  std::set<std::string> models_on_main_lane;
  std::map<int, std::string> process_names;
  std::set<std::string> lane_names;
  std::set<int> pids_with_sync_requests;
  std::set<int> pids_with_async_requests;
  for (const auto& e : events) {
    const std::string name = e.at("name").get<std::string>();
    const int pid = e.at("pid").get<int>();
    if (name == "process_name") process_names[pid] = e.at("args").at("name").get<std::string>();
    if (name == "thread_name") lane_names.insert(e.at("args").at("name").get<std::string>());
    if (name == "model" && pid == own_pid) models_on_main_lane.insert(e.at("args").at("detail").get<std::string>());
    if (name == "request") {
      (e.at("ph") == "X" ? pids_with_sync_requests : pids_with_async_requests).insert(pid);
    }
  }
  for (const model& m : s.models) {
    EXPECT_EQ(models_on_main_lane.count("web: " + m.name), 1u) << m.name;
    bool named = false;
    for (const auto& [pid, name] : process_names) named |= name == "web: " + m.name;
    EXPECT_TRUE(named) << "no process lane named 'web: " << m.name << "'";
  }
  auto pid_of = [&](const std::string& name) {
    for (const auto& [pid, n] : process_names) {
      if (n == name) return pid;
    }
    return -1;
  };
  EXPECT_EQ(pids_with_sync_requests.count(pid_of("web: sequential")), 1u) << "the sequential model's requests";
  EXPECT_EQ(pids_with_async_requests.count(pid_of("web: async_50")), 1u) << "the async model's requests";
  bool pool_named = false;
  for (const std::string& lane : lane_names) pool_named |= lane.rfind("threads_10-", 0) == 0;
  EXPECT_TRUE(pool_named) << "no lane of the threads_10 model's pool";
  // The worker processes of the process model, two generations below this one, are there too.
  const int processes_pid = pid_of("web: processes_2");
  int workers = 0;
  for (const auto& [pid, name] : process_names) workers += name.rfind("worker", 0) == 0 && pid != processes_pid;
  EXPECT_GE(workers, 2) << "the process model's workers are missing from the timeline";
  for (const auto& r : report.runs) EXPECT_TRUE(r.ok) << r.model << ": " << r.error;
}

}  // namespace
}  // namespace trident::scenarios
