// One model measured in a process of its own (model_process.hpp).

#include "model_process.hpp"

#include <fmt/format.h>

#include <csignal>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "trident/exec/future.hpp"
#include "trident/proc/codec.hpp"
#include "trident/proc/process_pool.hpp"
#include "trident/proc/task.hpp"
#include "trident/trace/recorder.hpp"

namespace trident::scenarios {

/// What the worker is asked to run.
struct model_request {
  std::string scenario;
  std::string model;
  int size = 0;  ///< `scale` as an integer.
  std::uint64_t cores = 1;
  std::string inputs_json;
  TRIDENT_SERIALIZABLE(scenario, model, size, cores, inputs_json)
};

/// What the worker measured and produced.
struct model_outcome {
  double wall_seconds = 0;
  double cpu_seconds = 0;
  std::uint64_t peak_bytes = 0;
  int peak_threads = 0;
  int peak_processes = 0;
  std::string memory_source;
  std::uint64_t items = 0;
  std::uint64_t failed = 0;
  std::uint64_t digest = 0;
  std::string detail;
  TRIDENT_SERIALIZABLE(wall_seconds, cpu_seconds, peak_bytes, peak_threads, peak_processes, memory_source, items,
                       failed, digest, detail)
};

/// The worker's task: makes the scenario's models, runs the one asked for, measured.
model_outcome run_scenario_model(model_request request) {
  // The starter decides when to stop: a Ctrl-C at the terminal reaches the whole process group.
  std::signal(SIGINT, SIG_IGN);
  trace::set_process_name(fmt::format("{}: {}", request.scenario, request.model));
  const model_inputs inputs{static_cast<scale>(request.size), static_cast<std::size_t>(request.cores),
                            std::move(request.inputs_json)};
  const std::vector<model> models = make_models(request.scenario, inputs);
  for (const model& m : models) {
    if (m.name != request.model) continue;
    model_result result;
    const advisor::usage cost = advisor::measure([&] {
      const trace::span span("model", "scenario", fmt::format("{}: {}", request.scenario, request.model));
      result = m.run();
    });
    return {cost.wall_seconds, cost.cpu_seconds,     cost.peak_bytes, cost.peak_threads, cost.peak_processes,
            cost.memory_source, result.items,        result.failed,   result.digest,     result.detail};
  }
  throw std::invalid_argument(fmt::format("scenario '{}' has no model '{}'", request.scenario, request.model));
}
TRIDENT_TASK(run_scenario_model);

measured_run run_model_in_fresh_process(const std::string& scenario_name, const std::string& model_name,
                                        const model_inputs& inputs) {
  proc::process_pool_options options;
  options.workers = 1;
  proc::process_pool pool(options);
  const model_request request{scenario_name, model_name, static_cast<int>(inputs.size), inputs.cores, inputs.json};
  model_outcome outcome;
  try {
    outcome = pool.submit(run_scenario_model, request).get();
  } catch (const std::exception& e) {
    throw std::runtime_error(e.what());
  }
  measured_run run;
  run.cost.wall_seconds = outcome.wall_seconds;
  run.cost.cpu_seconds = outcome.cpu_seconds;
  run.cost.peak_bytes = outcome.peak_bytes;
  run.cost.peak_threads = outcome.peak_threads;
  run.cost.peak_processes = outcome.peak_processes;
  run.cost.memory_source = outcome.memory_source;
  run.result.items = outcome.items;
  run.result.failed = outcome.failed;
  run.result.digest = outcome.digest;
  run.result.detail = outcome.detail;
  return run;
}

}  // namespace trident::scenarios
