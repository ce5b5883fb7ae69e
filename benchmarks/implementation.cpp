#include "implementation.hpp"

#include <sys/wait.h>

#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "compare_scripts.hpp"
#include "report.hpp"

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
    throw std::logic_error(fmt::format("{} measured {} values for a case of {} rows", name(), values.size(), rows.size()));
  }
  std::vector<figure> out;
  for (std::size_t i = 0; i < rows.size(); ++i) out.push_back(figure{rows[i].name, values[i], rows[i].unit});
  return out;
}

command_output run_command(const std::string& command) {
  command_output out;
  const stopwatch clock;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) out.text.append(buf, n);
  const int status = ::pclose(pipe);
  out.seconds = clock.seconds();
  out.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
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
  if (!parse_) parse_ = [](const command_output& out, const std::vector<row_spec>& rows) { return json_figures(out.text, rows); };
}

std::unique_ptr<external_impl> external_impl::python_script(std::string name, const std::string& script, std::string args) {
  // The path is resolved per round, not here: a missing script is then a note, not a failed suite.
  auto command = [script, args = std::move(args)](const std::vector<row_spec>& rows) {
    std::string cmd = fmt::format("{} {} {}", shell_quote(python_interpreter()), shell_quote(compare_script(script)), args);
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
