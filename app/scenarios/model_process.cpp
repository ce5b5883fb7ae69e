// One model measured in a process of its own (model_process.hpp).

#include "model_process.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "trident/exec/future.hpp"
#include "trident/proc/codec.hpp"
#include "trident/proc/process_pool.hpp"
#include "trident/proc/task_registry.hpp"
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
    return {cost.wall_seconds,  cost.cpu_seconds, cost.peak_bytes, cost.peak_threads, cost.peak_processes,
            cost.memory_source, result.items,     result.failed,   result.digest,     result.detail};
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

/// What the advise worker is asked to run.
struct advise_request {
  std::string scenario;
  int size = 0;
  std::uint64_t cores = 1;
  std::string inputs_json;
  std::uint64_t repeat = 3;
  std::uint64_t advise_cores = 0;
  bool processes = true;
  TRIDENT_SERIALIZABLE(scenario, size, cores, inputs_json, repeat, advise_cores, processes)
};

namespace {

nlohmann::json to_json(const advisor::advice& a) {
  nlohmann::json runs = nlohmann::json::array();
  for (const auto& r : a.runs) {
    runs.push_back({{"model", r.model},
                    {"family", r.family},
                    {"workers", r.workers},
                    {"wall", r.cost.wall_seconds},
                    {"cpu", r.cost.cpu_seconds},
                    {"bytes", r.cost.peak_bytes},
                    {"threads", r.cost.peak_threads},
                    {"processes", r.cost.peak_processes},
                    {"source", r.cost.memory_source},
                    {"wall_min", r.wall_min},
                    {"wall_max", r.wall_max},
                    {"runs", r.runs},
                    {"ok", r.ok},
                    {"error", r.error},
                    {"excluded", r.excluded}});
  }
  return {{"family", a.family},
          {"model", a.model},
          {"workers", a.workers},
          {"reason", a.reason},
          {"basis", advisor::to_string(a.basis)},
          {"ties", a.ties},
          {"notes", a.notes},
          {"cpu_per_wall", a.cpu_per_wall},
          {"seconds_per_item", a.seconds_per_item},
          {"process_start_seconds", a.process_start_seconds},
          {"runs", std::move(runs)}};
}

advisor::advice advice_from_json(const nlohmann::json& j) {
  advisor::advice a;
  a.family = j.at("family").get<std::string>();
  a.model = j.at("model").get<std::string>();
  a.workers = j.at("workers").get<std::size_t>();
  a.reason = j.at("reason").get<std::string>();
  const std::string basis = j.at("basis").get<std::string>();
  a.basis = basis == "lighter"   ? advisor::pick_basis::lighter
            : basis == "simpler" ? advisor::pick_basis::simpler
                                 : advisor::pick_basis::fastest;
  a.ties = j.at("ties").get<std::vector<std::string>>();
  a.notes = j.at("notes").get<std::vector<std::string>>();
  a.cpu_per_wall = j.at("cpu_per_wall").get<double>();
  a.seconds_per_item = j.at("seconds_per_item").get<double>();
  a.process_start_seconds = j.at("process_start_seconds").get<double>();
  for (const auto& r : j.at("runs")) {
    advisor::measured_model m;
    m.model = r.at("model").get<std::string>();
    m.family = r.at("family").get<std::string>();
    m.workers = r.at("workers").get<std::size_t>();
    m.cost.wall_seconds = r.at("wall").get<double>();
    m.cost.cpu_seconds = r.at("cpu").get<double>();
    m.cost.peak_bytes = r.at("bytes").get<std::uint64_t>();
    m.cost.peak_threads = r.at("threads").get<int>();
    m.cost.peak_processes = r.at("processes").get<int>();
    m.cost.memory_source = r.at("source").get<std::string>();
    m.wall_min = r.at("wall_min").get<double>();
    m.wall_max = r.at("wall_max").get<double>();
    m.runs = r.at("runs").get<std::size_t>();
    m.ok = r.at("ok").get<bool>();
    m.error = r.at("error").get<std::string>();
    m.excluded = r.at("excluded").get<std::string>();
    a.runs.push_back(std::move(m));
  }
  return a;
}

}  // namespace

/// The advise worker's task: makes the scenario's advise function and runs it; the advice as JSON.
std::string advise_scenario_in_worker(advise_request request) {
  std::signal(SIGINT, SIG_IGN);
  trace::set_process_name(fmt::format("{}: advise", request.scenario));
  const model_inputs inputs{static_cast<scale>(request.size), static_cast<std::size_t>(request.cores),
                            std::move(request.inputs_json)};
  const advise_function advise = make_advise(request.scenario, inputs);
  if (!advise) throw std::invalid_argument(fmt::format("no scenario '{}'", request.scenario));
  advisor::advise_options options;
  options.repeat = static_cast<std::size_t>(request.repeat);
  options.cores = static_cast<std::size_t>(request.advise_cores);
  options.processes = request.processes;
  return to_json(advise(options)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}
TRIDENT_TASK(advise_scenario_in_worker);

advisor::advice advise_in_fresh_process(const std::string& scenario_name, const model_inputs& inputs,
                                        const advisor::advise_options& options) {
  proc::process_pool_options pool_options;
  pool_options.workers = 1;
  proc::process_pool pool(pool_options);
  const advise_request request{
      scenario_name,    static_cast<int>(inputs.size), inputs.cores, inputs.json, options.repeat, options.cores,
      options.processes};
  std::string text;
  try {
    text = pool.submit(advise_scenario_in_worker, request).get();
  } catch (const std::exception& e) {
    throw std::runtime_error(e.what());
  }
  return advice_from_json(nlohmann::json::parse(text));
}

}  // namespace trident::scenarios
