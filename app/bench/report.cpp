#include "report.hpp"

#include <algorithm>
#include <ostream>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace trident::bench {

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

const result* find_result(const std::vector<result>& rows, const std::string& case_name, const std::string& impl) {
  for (const auto& r : rows) {
    if (r.case_name == case_name && r.impl == impl) return &r;
  }
  return nullptr;
}

std::string format_value(double v) {
  if (v >= 1e6) return fmt::format("{:.3g}M", v / 1e6);
  if (v >= 1e3) return fmt::format("{:.4g}k", v / 1e3);
  return fmt::format("{:.4g}", v);
}

std::string format_range(const result& r) {
  return r.runs > 1 ? fmt::format("{}-{}", format_value(r.low), format_value(r.high)) : std::string("-");
}

void print_table(std::ostream& out, const std::vector<result>& rows, const std::vector<std::string>& notes) {
  out << fmt::format("{:<14} {:<12} {:>12} {:<8} {:>19} {:>10}  {}\n", "case", "impl", "median", "unit", "range",
                     "speed-up", "vs");
  std::string last_case;
  for (const auto& r : rows) {
    if (!last_case.empty() && r.case_name != last_case) out << '\n';
    last_case = r.case_name;
    std::string ratio = "-";
    std::string vs;
    if (const result* ref = find_result(rows, r.case_name, r.reference); ref != nullptr && ref != &r && r.value > 0) {
      const double speedup = r.higher_is_better ? r.value / ref->value : ref->value / r.value;
      ratio = fmt::format("{:.2f}x", speedup);
      vs = r.reference;
    }
    out << fmt::format("{:<14} {:<12} {:>12} {:<8} {:>19} {:>10}  {}\n", r.case_name, r.impl, format_value(r.value), r.unit,
                       format_range(r), ratio, vs);
  }
  if (!notes.empty()) out << '\n';
  for (const auto& n : notes) out << "note: " << n << '\n';
}

}  // namespace trident::bench
