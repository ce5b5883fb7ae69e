#pragma once
/// @file
/// `service_process`: a helper process that serves a scenario (the loopback "internet", the
/// private PostgreSQL server) from OUTSIDE this process's tree, so that measuring a model
/// (`advisor::measure` sums the tree) leaves the service out, and that ends when this process
/// ends, however it ends — even by SIGKILL.
///
/// How: the program re-executes itself (`/proc/self/exe --trident-scenario-service NAME ARGS…`,
/// like the process pool's workers); that child forks once more and exits, so the grandchild is
/// re-parented away from this tree. It holds the read end of a *life pipe* whose only writer is
/// this process: when this process exits or is killed, the kernel closes the write end, the
/// service reads end-of-file and shuts down. A second pipe carries the service's lines back
/// (`read_line`, e.g. its port). Programs that start services call `service_main` first in `main`.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace trident::scenarios {

/// What a service function is given.
class service_context {
 public:
  service_context(int life_fd, int report_fd) noexcept : life_fd_(life_fd), report_fd_(report_fd) {}
  /// Sends one line (no newline inside) to the starter's `read_line`. Thread safe.
  void report(const std::string& line) const;
  /// Blocks until the starter closes the service or dies. Thread safe; call it once.
  void wait_until_released() const;
  /// The life pipe's read end: readable (end-of-file) once the starter is gone, for services that
  /// poll it beside their own descriptors.
  [[nodiscard]] int life_fd() const noexcept { return life_fd_; }

 private:
  int life_fd_;
  int report_fd_;
};

/// A service: runs until released, returns the service process's exit status.
using service_function = int (*)(const std::vector<std::string>& args, const service_context& context);

/// Registers `fn` under `name` (at static-initialisation time, like TRIDENT_TASK; see
/// TRIDENT_SCENARIO_SERVICE). Returns true.
bool register_service(const char* name, service_function fn);

#define TRIDENT_SCENARIO_SERVICE(name, fn) \
  [[maybe_unused]] static const bool trident_scenario_service_##fn = ::trident::scenarios::register_service(name, &fn)

/// First word in `main` of a program that starts services: in a service process it runs the
/// service and returns its exit status; otherwise std::nullopt (go on as usual).
[[nodiscard]] std::optional<int> service_main(int argc, char** argv);

/// A started service. Move-only; destroying it releases the service and waits (up to
/// `stop_timeout`) for it to finish its clean-up.
///
/// @par Thread safety
/// One thread at a time per object.
class service_process {
 public:
  /// Starts service `name` with `args`. Throws std::system_error when it cannot be started.
  service_process(const std::string& name, const std::vector<std::string>& args,
                  std::chrono::milliseconds stop_timeout = std::chrono::seconds(30));
  service_process(service_process&& other) noexcept;
  service_process& operator=(service_process&& other) noexcept;
  service_process(const service_process&) = delete;
  service_process& operator=(const service_process&) = delete;
  ~service_process();

  /// The next line the service reported, waiting up to `timeout`. Throws std::runtime_error when
  /// the service ended first (with its last lines, e.g. an error message) or the time ran out.
  std::string read_line(std::chrono::milliseconds timeout);

  /// The service's process id (the grandchild), once it reported it; 0 before.
  [[nodiscard]] int pid() const noexcept { return pid_; }

  /// Releases the service and waits until it has finished (its report pipe closed), up to the
  /// stop timeout. Returns false when it did not finish in time. Idempotent.
  bool stop();

 private:
  int life_write_ = -1;
  int report_read_ = -1;
  int pid_ = 0;
  std::string buffer_;
  std::chrono::milliseconds stop_timeout_;
};

}  // namespace trident::scenarios
