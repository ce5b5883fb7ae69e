#pragma once
/// @file
/// Measures one model of a scenario (or a scenario's advise sample) in a process of its own, so that what the model costs does
/// not depend on what ran before it in the program: earlier scenarios and models leave threads
/// (idle pools, libvips's workers), heap pages that malloc keeps, and a high-water mark (VmHWM)
/// that only rises. A fresh process starts from none of them (docs/advisor.md, "One process per
/// measured run").
///
/// How: a process pool of one worker (`proc::process_pool`, so the worker is a fork of the
/// program's fork server — a clean re-execution of the binary, not a copy of this process) runs
/// the registered task that makes the scenario's models again from `model_inputs`
/// (`make_models`), runs the one asked for under `advisor::measure`, and returns the figures and
/// the result. The worker ignores SIGINT, so the first Ctrl-C at a terminal lets the model in
/// progress finish; it dies with this process (the pool's workers always do). While a timeline
/// is recorded, the worker records too and its spans (and those of the processes it starts) join
/// this process's timeline, on a lane named "SCENARIO: MODEL".

#include <string>

#include "scenario.hpp"
#include "trident/advisor/advise.hpp"
#include "trident/advisor/measure.hpp"

namespace trident::scenarios {

/// One measured run of a model.
struct measured_run {
  advisor::usage cost;
  model_result result;
};

/// Runs model `model_name` of scenario `scenario_name`, made from `inputs`, in a fresh process
/// and returns what it cost there and what it produced. Throws std::runtime_error when the model
/// failed (its message), is unknown, or its process died (a crash fails this run only).
///
/// @par Thread safety
/// Any thread may call it; each call starts and ends its own process.
///
/// @par Cancellation
/// None: it returns when the model's run ends. Ending this process ends the worker.
[[nodiscard]] measured_run run_model_in_fresh_process(const std::string& scenario_name, const std::string& model_name,
                                                      const model_inputs& inputs);

/// Runs scenario `scenario_name`'s advise function (`make_advise`), made from `inputs`, in a
/// fresh process the same way, so that `trident advise` measures each scenario's sample on what
/// it starts and not on what earlier scenarios left in the program. Throws std::runtime_error
/// when the scenario is unknown or its process died. Thread safety and cancellation as
/// `run_model_in_fresh_process`.
[[nodiscard]] advisor::advice advise_in_fresh_process(const std::string& scenario_name, const model_inputs& inputs,
                                                      const advisor::advise_options& options);

}  // namespace trident::scenarios
