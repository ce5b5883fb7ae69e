#include "report.hpp"

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <ostream>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace trident::bench {

script_output run_script(const std::string& command) {
  script_output out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    out.failure = fmt::format("could not start {}", command);
    return out;
  }
  std::string text;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) text.append(buf, n);
  const int status = ::pclose(pipe);
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.starts_with("{")) {
      const auto j = nlohmann::json::parse(line);
      out.rows.push_back(script_row{j.at("case").get<std::string>(), j.value("impl", std::string()),
                                    j.at("value").get<double>(), j.at("unit").get<std::string>()});
    } else if (line.starts_with("note: ")) {
      out.notes.push_back(line.substr(6));
    }
  }
  out.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (!out.ok) out.failure = fmt::format("{} failed (status {})", command, status);
  return out;
}

double median(std::vector<double> values) {
  if (values.empty()) throw std::invalid_argument("median of no values");
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

void print_json_line(std::ostream& out, const result& r) {
  nlohmann::ordered_json j;  // ordered: keys come out as written
  j["suite"] = r.suite;
  j["case"] = r.case_name;
  j["impl"] = r.impl;
  j["value"] = r.value;
  j["unit"] = r.unit;
  out << j.dump() << '\n';
}

namespace {

std::string format_value(double v) {
  if (v >= 1e6) return fmt::format("{:.3g}M", v / 1e6);
  if (v >= 1e3) return fmt::format("{:.4g}k", v / 1e3);
  return fmt::format("{:.4g}", v);
}

const result* find(const std::vector<result>& rows, const std::string& case_name, const std::string& impl) {
  for (const auto& r : rows) {
    if (r.case_name == case_name && r.impl == impl) return &r;
  }
  return nullptr;
}

}  // namespace

void print_table(std::ostream& out, const std::vector<result>& rows, const std::vector<std::string>& notes) {
  out << fmt::format("{:<14} {:<12} {:>12} {:<8} {:>10}  {}\n", "case", "impl", "value", "unit", "speed-up", "vs");
  std::string last_case;
  for (const auto& r : rows) {
    if (!last_case.empty() && r.case_name != last_case) out << '\n';
    last_case = r.case_name;
    std::string ratio = "-";
    std::string vs;
    if (const result* ref = find(rows, r.case_name, r.reference); ref != nullptr && ref != &r && r.value > 0) {
      const double speedup = r.higher_is_better ? r.value / ref->value : ref->value / r.value;
      ratio = fmt::format("{:.2f}x", speedup);
      vs = r.reference;
    }
    out << fmt::format("{:<14} {:<12} {:>12} {:<8} {:>10}  {}\n", r.case_name, r.impl, format_value(r.value), r.unit,
                       ratio, vs);
  }
  if (!notes.empty()) out << '\n';
  for (const auto& n : notes) out << "note: " << n << '\n';
}

}  // namespace trident::bench
