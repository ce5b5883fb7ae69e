#pragma once
/// @file
/// `scenario_service`: a service that serves a scenario (the loopback "internet", the private
/// PostgreSQL server) from OUTSIDE this process's tree, so that measuring a model
/// (`advisor::measure` sums the tree) leaves the service out, and that ends when this process
/// releases it or ends, however it ends — even by SIGKILL.
///
/// The mechanism is the process layer's: the service is a registered task (`TRIDENT_TASK`) run
/// by a detached `proc::process` (proc/process.hpp), so the program's `worker_main` guard serves
/// it. The task watches `proc::release_descriptor()` and stops in order when it turns readable;
/// it reports lines (its port, its errors) on a `proc::queue<std::string>`.

#include <chrono>
#include <string>
#include <vector>

#include "trident/proc/process.hpp"
#include "trident/proc/queue.hpp"

namespace trident::scenarios {

/// What a service task is: it reports on `lines` (with `report`) and runs until released.
using service_task = void (*)(proc::queue<std::string> lines, std::vector<std::string> args);

/// Inside a service: sends one line (no newline inside; cut at 2,000 bytes) to the starter's
/// `read_line`. Never blocks: a line that finds the queue full (a starter that reads nothing) is
/// dropped. Thread safe.
void report(proc::queue<std::string>& lines, std::string line);

/// A started service. Move-only; destroying it releases the service and waits (up to
/// `stop_timeout`) for it to finish its clean-up.
///
/// @par Thread safety
/// One thread at a time per object.
class scenario_service {
 public:
  /// Starts `task` (registered with TRIDENT_TASK) with `args`, detached. Throws
  /// `proc::worker_start_error` when it cannot be started.
  scenario_service(service_task task, std::vector<std::string> args,
                   std::chrono::milliseconds stop_timeout = std::chrono::seconds(30));
  scenario_service(scenario_service&& other) noexcept = default;
  scenario_service& operator=(scenario_service&& other) noexcept;
  scenario_service(const scenario_service&) = delete;
  scenario_service& operator=(const scenario_service&) = delete;
  ~scenario_service();

  /// The next line the service reported, waiting up to `timeout`. Throws std::runtime_error when
  /// the service ended first or the time ran out.
  std::string read_line(std::chrono::milliseconds timeout);

  /// The service's process id (not a child of this process).
  [[nodiscard]] int pid() const noexcept { return process_.pid(); }

  /// Releases the service and waits until it has ended, up to the stop timeout. Returns false
  /// when it did not end in time. Idempotent.
  bool stop();

 private:
  proc::queue<std::string> lines_;
  proc::process process_;
  std::chrono::milliseconds stop_timeout_;
};

}  // namespace trident::scenarios
