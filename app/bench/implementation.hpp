#pragma once
/// @file
/// One implementation of a suite's workloads, as the runner (runner.hpp) sees it: Trident, or a
/// peer in this process (oneTBB, a plain std::thread pool), or a peer in another program (a
/// Python script, curl, wrk). The runner runs every implementation of a case once per round,
/// whatever kind it is, so load from other processes on a shared machine hits them alike.

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace trident::bench {

/// A row a case reports: its name (what `--case` selects) and how its values compare.
struct row_spec {
  std::string name;
  std::string unit;
  bool higher_is_better = true;  ///< Rates: true; times and sizes: false.
};

/// One value one run measured, for one row of its case. A run may measure several rows:
/// sleepers_1m gives its time and its bytes per task.
struct figure {
  std::string case_name;
  double value = 0;
  std::string unit;
};

/// Thrown by an implementation that cannot run here (a peer not installed, a script that
/// failed): the runner notes the message and runs that implementation no more.
class unavailable_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A workload's implementation in one runtime.
///
/// The runner calls `warm_up` once before a case's rounds, then `run` once per round, always
/// with the case's selected rows, from one thread.
class implementation {
 public:
  explicit implementation(std::string name) : name_(std::move(name)) {}
  implementation(const implementation&) = delete;
  implementation& operator=(const implementation&) = delete;
  virtual ~implementation() = default;

  /// The `impl` of its rows: "trident", "tbb", "python", "curl", ...
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

  /// One untimed run (caches, pages and threads warmed), or nothing where the other program
  /// warms up by itself.
  virtual void warm_up(const std::vector<row_spec>& rows) = 0;

  /// One timed run: a figure per row it measured. Appends anything the reader should know to
  /// `notes`. Throws unavailable_error when it cannot run here.
  virtual std::vector<figure> run(const std::vector<row_spec>& rows, std::vector<std::string>& notes) = 0;

 private:
  std::string name_;
};

/// An implementation in this process: a function returning one value per row of its case, in
/// the case's order (most cases have one row).
class in_process_impl final : public implementation {
 public:
  using run_fn = std::function<std::vector<double>()>;

  /// `warm_up` defaults to one run of `run` with its values dropped.
  in_process_impl(std::string name, run_fn run, std::function<void()> warm_up = {});
  /// For a case of one row.
  in_process_impl(std::string name, std::function<double()> run);

  void warm_up(const std::vector<row_spec>& rows) override;
  std::vector<figure> run(const std::vector<row_spec>& rows, std::vector<std::string>& notes) override;

 private:
  run_fn run_;
  std::function<void()> warm_up_;
};

/// What a command printed on its standard output and how it ended.
struct command_output {
  std::string text;
  double seconds = 0;  ///< Wall time from its start to its end, measured from outside.
  bool ok = false;     ///< It started and exited with status 0.
};

/// Runs `command` through the shell (its standard error goes to ours) and waits for it.
command_output run_command(const std::string& command);

/// The figures of the `{"case":…,"value":…,"unit":…}` lines of `text` whose case is one of
/// `rows` (every comparison script prints those, like `trident bench --json` does).
std::vector<figure> json_figures(const std::string& text, const std::vector<row_spec>& rows);

/// An implementation in another program: a shell command run once per round whose output is
/// parsed into figures. The program warms up by itself (the comparison scripts run each case
/// once untimed before their timed run), so `warm_up` does nothing.
///
/// Lines of its output that start with `note: ` become notes. A command that fails, or whose
/// output has no figure, makes the implementation unavailable.
class external_impl final : public implementation {
 public:
  /// The command for one round and the selected rows (it may prepare files first).
  using command_fn = std::function<std::string(const std::vector<row_spec>& rows)>;
  /// The figures in the command's output; may throw unavailable_error (e.g. files missing).
  using parse_fn = std::function<std::vector<figure>(const command_output& out, const std::vector<row_spec>& rows)>;

  /// `parse` defaults to json_figures.
  external_impl(std::string name, command_fn command, parse_fn parse = {});

  /// A comparison script under the compare folder (e.g. "process/multiprocessing_bench.py") run
  /// by python_interpreter() with `args`, then `--case ROW` for every selected row and
  /// `--repeat 1`.
  static std::unique_ptr<external_impl> python_script(std::string name, const std::string& script,
                                                      std::string args = {});

  void warm_up(const std::vector<row_spec>& rows) override;
  std::vector<figure> run(const std::vector<row_spec>& rows, std::vector<std::string>& notes) override;

 private:
  command_fn command_;
  parse_fn parse_;
};

}  // namespace trident::bench
