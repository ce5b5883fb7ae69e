#include "implementation.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "compare_scripts.hpp"
#include "interruption.hpp"
#include "report.hpp"

extern char** environ;

namespace trident::bench {

in_process_impl::in_process_impl(std::string name, run_fn run, std::function<void()> warm_up)
    : implementation(std::move(name)), run_(std::move(run)), warm_up_(std::move(warm_up)) {}

in_process_impl::in_process_impl(std::string name, std::function<double()> run)
    : in_process_impl(std::move(name), [run = std::move(run)] { return std::vector<double>{run()}; }) {}

void in_process_impl::warm_up(const std::vector<row_spec>&) {
  if (warm_up_) {
    warm_up_();
  } else {
    (void)run_();
  }
}

std::vector<figure> in_process_impl::run(const std::vector<row_spec>& rows, std::vector<std::string>&) {
  const std::vector<double> values = run_();
  if (values.size() != rows.size()) {
    throw std::logic_error(
        fmt::format("{} measured {} values for a case of {} rows", name(), values.size(), rows.size()));
  }
  std::vector<figure> out;
  for (std::size_t i = 0; i < rows.size(); ++i) out.push_back(figure{rows[i].name, values[i], rows[i].unit});
  return out;
}

command_output run_command(const std::string& command) {
  command_output out;
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return out;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  // The default signal mask and dispositions (whatever this program's caller left blocked or
  // ignored), and a process group of its own, so that an interrupted run stops the shell and
  // everything it started, and only those.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, stops;
  sigemptyset(&none);
  sigemptyset(&stops);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) sigaddset(&stops, sig);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &stops);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  const stopwatch clock;
  pid_t pid = -1;
  const char* argv[] = {"sh", "-c", command.c_str(), nullptr};
  const int rc = ::posix_spawn(&pid, "/bin/sh", &actions, &attr, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(pipe_fds[1]);
  if (rc != 0) {
    ::close(pipe_fds[0]);
    return out;
  }
  {
    // Interrupted: Ctrl-C to the group (Python's scripts then run their `finally` blocks, which
    // free their shared memory), up to two seconds to end, then SIGKILL. This thread reaps it.
    const on_interruption stop_it([pid] {
      ::kill(-pid, SIGINT);
      for (int i = 0; i < 200 && ::kill(-pid, 0) == 0; ++i) ::usleep(10'000);
      ::kill(-pid, SIGKILL);
    });
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(pipe_fds[0], buf, sizeof buf);
      if (n > 0) {
        out.text.append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        break;
      }
    }
    ::close(pipe_fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    out.seconds = clock.seconds();
    out.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  return out;
}

namespace {

/// The lines of `text`, without their newlines.
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return lines;
}

}  // namespace

std::vector<figure> json_figures(const std::string& text, const std::vector<row_spec>& rows) {
  std::vector<figure> out;
  for (const auto& line : lines_of(text)) {
    if (!line.starts_with("{")) continue;
    const auto j = nlohmann::json::parse(line);
    figure f{j.at("case").get<std::string>(), j.at("value").get<double>(), j.at("unit").get<std::string>()};
    for (const auto& r : rows) {
      if (r.name == f.case_name) out.push_back(std::move(f));
    }
  }
  return out;
}

external_impl::external_impl(std::string name, command_fn command, parse_fn parse)
    : implementation(std::move(name)), command_(std::move(command)), parse_(std::move(parse)) {
  if (!parse_)
    parse_ = [](const command_output& out, const std::vector<row_spec>& rows) { return json_figures(out.text, rows); };
}

std::unique_ptr<external_impl> external_impl::python_script(std::string name, const std::string& script,
                                                            std::string args) {
  // The path is resolved per round, not here: a missing script is then a note, not a failed suite.
  auto command = [script, args = std::move(args)](const std::vector<row_spec>& rows) {
    std::string cmd =
        fmt::format("{} {} {}", shell_quote(python_interpreter()), shell_quote(compare_script(script)), args);
    for (const auto& r : rows) cmd += " --case " + shell_quote(r.name);
    return cmd + " --repeat 1";
  };
  return std::make_unique<external_impl>(std::move(name), std::move(command));
}

void external_impl::warm_up(const std::vector<row_spec>&) {}

std::vector<figure> external_impl::run(const std::vector<row_spec>& rows, std::vector<std::string>& notes) {
  const std::string command = command_(rows);
  const command_output out = run_command(command);
  for (const auto& line : lines_of(out.text)) {
    if (line.starts_with("note: ")) notes.push_back(line.substr(6));
  }
  if (!out.ok) throw unavailable_error(fmt::format("`{}` failed", command));
  std::vector<figure> figures = parse_(out, rows);
  if (figures.empty()) throw unavailable_error(fmt::format("`{}` printed no figures", command));
  return figures;
}

}  // namespace trident::bench
