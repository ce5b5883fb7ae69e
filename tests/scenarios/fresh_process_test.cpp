// Each run of a model is measured in a process of its own (model_process.hpp): what ran before
// it in the program — idle threads, heap that malloc keeps, a high-water mark that only rises —
// does not change its figures. The program here leaves such leftovers between two runs of the
// same scenario, as earlier scenarios do inside `trident scenarios all`.

#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "model_process.hpp"
#include "scenario_runner.hpp"
#include "scenario.hpp"

namespace trident::scenarios {
namespace {

#if defined(__SANITIZE_ADDRESS__)
// LeakSanitizer checks each process as it exits from a tracer task of its own, which the sampler
// now and then catches in a worker's last moments: one thread and one process more.
constexpr int sanitizer_slack = 1;
#else
constexpr int sanitizer_slack = 0;
#endif

/// Idle threads and touched heap, held until destroyed.
class leftovers {
 public:
  leftovers() : ballast_(std::size_t{96} << 20) {
    std::memset(ballast_.data(), 1, ballast_.size());
    for (int i = 0; i < 8; ++i) {
      threads_.emplace_back([this] {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return released_; });
      });
    }
  }
  leftovers(const leftovers&) = delete;
  leftovers& operator=(const leftovers&) = delete;
  ~leftovers() {
    {
      std::lock_guard lock(mutex_);
      released_ = true;
    }
    wake_.notify_all();
    for (auto& t : threads_) t.join();
  }

 private:
  std::vector<char> ballast_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool released_ = false;
  std::vector<std::thread> threads_;
};

TEST(FreshProcess, AModelMeasuresTheSameAloneAndAfterWhatEarlierWorkLeftBehind) {
  scenario_options options;
  options.size = scale::small;
  options.cores = 2;
  const scenario s = make_web_scenario(options);
  run_options run;
  run.repeat = 1;
  const scenario_report alone = run_scenario(s, run);
  scenario_report after;
  {
    const leftovers left;
    after = run_scenario(s, run);
  }
  ASSERT_EQ(alone.runs.size(), s.models.size());
  ASSERT_EQ(after.runs.size(), s.models.size());
  for (std::size_t i = 0; i < alone.runs.size(); ++i) {
    const model_run& a = alone.runs[i];
    const model_run& b = after.runs[i];
    SCOPED_TRACE(a.model);
    ASSERT_TRUE(a.ok && b.ok) << a.error << b.error;
    EXPECT_NEAR(a.cost.peak_threads, b.cost.peak_threads, sanitizer_slack);
    EXPECT_NEAR(a.cost.peak_processes, b.cost.peak_processes, sanitizer_slack);
    const double bound = std::max(5e6, 0.10 * static_cast<double>(a.cost.peak_bytes));
    EXPECT_NEAR(static_cast<double>(a.cost.peak_bytes), static_cast<double>(b.cost.peak_bytes), bound);
    if (a.family == "sequential" || a.family == "async") {
      EXPECT_EQ(a.cost.peak_processes, 1);
    }
  }
}

TEST(FreshProcess, TheSequentialModelRunsOnOneThreadOfItsOwnProcess) {
  scenario_options options;
  options.size = scale::small;
  options.cores = 2;
  const scenario s = make_web_scenario(options);
  const measured_run run = run_model_in_fresh_process("web", "sequential", s.inputs);
  EXPECT_EQ(run.cost.peak_threads, 1);
  EXPECT_EQ(run.cost.peak_processes, 1);
  EXPECT_EQ(run.result.items, 40u);
}

TEST(FreshProcess, AScenariosAdviceMeasuresTheSameAfterWhatEarlierWorkLeftBehind) {
  scenario_options options;
  options.size = scale::small;
  options.cores = 2;
  const scenario s = make_web_scenario(options);
  advisor::advise_options advise_options;
  advise_options.cores = 2;
  advise_options.repeat = 1;
  const advisor::advice alone = advise_in_fresh_process("web", s.inputs, advise_options);
  advisor::advice after;
  {
    const leftovers left;
    after = advise_in_fresh_process("web", s.inputs, advise_options);
  }
  ASSERT_EQ(alone.runs.size(), after.runs.size());
  ASSERT_FALSE(alone.runs.empty());
  EXPECT_EQ(alone.runs.front().model, "sequential");
  EXPECT_EQ(alone.runs.front().cost.peak_threads, 1) << "the sequential sample runs on the process's one thread";
  for (std::size_t i = 0; i < alone.runs.size(); ++i) {
    SCOPED_TRACE(alone.runs[i].model);
    EXPECT_EQ(alone.runs[i].model, after.runs[i].model);
    ASSERT_TRUE(alone.runs[i].ok && after.runs[i].ok) << alone.runs[i].error << after.runs[i].error;
    EXPECT_NEAR(alone.runs[i].cost.peak_threads, after.runs[i].cost.peak_threads, sanitizer_slack);
    EXPECT_NEAR(alone.runs[i].cost.peak_processes, after.runs[i].cost.peak_processes, sanitizer_slack);
    const double bound = std::max(5e6, 0.10 * static_cast<double>(alone.runs[i].cost.peak_bytes));
    EXPECT_NEAR(static_cast<double>(alone.runs[i].cost.peak_bytes), static_cast<double>(after.runs[i].cost.peak_bytes),
                bound);
  }
  // The advice came back whole: the reason names the advised model.
  ASSERT_FALSE(alone.model.empty());
  EXPECT_NE(alone.reason.find(alone.model), std::string::npos) << alone.reason;
}

TEST(FreshProcess, AnUnknownModelOrScenarioFailsWithItsName) {
  model_inputs inputs;
  inputs.size = scale::small;
  inputs.json = R"({"urls":[]})";
  try {
    (void)run_model_in_fresh_process("web", "threads_7", inputs);
    FAIL() << "no error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("scenario 'web' has no model 'threads_7'"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)run_model_in_fresh_process("nowhere", "sequential", inputs), std::exception);
}

}  // namespace
}  // namespace trident::scenarios
