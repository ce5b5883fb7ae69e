#include "report.hpp"

#include <algorithm>
#include <ostream>
#include <stdexcept>

#include <fmt/format.h>

namespace trident::bench {

double median(std::vector<double> values) {
  if (values.empty()) throw std::invalid_argument("median of no values");
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

const result* find_result(const std::vector<result>& rows, const std::string& case_name, const std::string& impl) {
  for (const auto& r : rows) {
    if (r.case_name == case_name && r.impl == impl) return &r;
  }
  return nullptr;
}

const result* baseline_of(const std::vector<result>& rows, const std::string& case_name) {
  if (const result* t = find_result(rows, case_name, "trident")) return t;
  for (const auto& r : rows) {
    if (r.case_name == case_name) return &r;
  }
  return nullptr;
}

std::optional<ratio_range> advantage(const result& mine, const result& other) {
  if (mine.value <= 0 || other.value <= 0) return std::nullopt;
  // A single round has no range of its own: its low and high are its value.
  const double mine_low = mine.runs > 1 && mine.low > 0 ? mine.low : mine.value;
  const double mine_high = mine.runs > 1 ? mine.high : mine.value;
  const double other_low = other.runs > 1 && other.low > 0 ? other.low : other.value;
  const double other_high = other.runs > 1 ? other.high : other.value;
  if (mine.higher_is_better) {
    return ratio_range{mine.value / other.value, mine_low / other_high, mine_high / other_low};
  }
  return ratio_range{other.value / mine.value, other_low / mine_high, other_high / mine_low};
}

std::optional<double> target_value(const target& t, const std::vector<result>& rows) {
  if (t.versus.empty()) return t.bound;
  const result* mine = find_result(rows, t.case_name, t.impl);
  const result* other = find_result(rows, t.case_name, t.versus);
  if (other == nullptr || other->value <= 0 || t.bound <= 0) return std::nullopt;
  const bool higher = mine != nullptr ? mine->higher_is_better : other->higher_is_better;
  return higher ? other->value * t.bound : other->value / t.bound;
}

std::optional<target_check> check_target(const target& t, const std::vector<result>& rows) {
  const result* mine = find_result(rows, t.case_name, t.impl);
  if (mine == nullptr) return std::nullopt;
  if (t.versus.empty()) {
    return target_check{mine->higher_is_better ? mine->value >= t.bound : mine->value <= t.bound, mine->value};
  }
  const result* other = find_result(rows, t.case_name, t.versus);
  if (other == nullptr) return std::nullopt;
  const auto a = advantage(*mine, *other);
  if (!a) return std::nullopt;
  return target_check{a->median >= t.bound, a->median};
}

std::string format_value(double v) {
  if (v >= 1e6) return fmt::format("{:.3g}M", v / 1e6);
  if (v >= 1e3) return fmt::format("{:.4g}k", v / 1e3);
  return fmt::format("{:.4g}", v);
}

std::string format_range(const result& r) {
  return r.runs > 1 ? fmt::format("{}-{}", format_value(r.low), format_value(r.high)) : std::string("-");
}

void print_table(std::ostream& out, const suite_results& results) {
  const auto& rows = results.rows;
  constexpr const char* layout = "{:<20} {:<16} {:>10} {:<11} {:>17}  {}\n";
  out << fmt::format(layout, "case", "impl", "median", "unit", "range", "baseline vs impl");
  std::string last_case;
  bool other_baseline = false;
  for (const auto& r : rows) {
    const bool first = r.case_name != last_case;
    if (!last_case.empty() && first) out << '\n';
    last_case = r.case_name;
    const result* base = baseline_of(rows, r.case_name);
    std::string ratio = "-";
    if (base != nullptr && base != &r) {
      if (const auto a = advantage(*base, r)) {
        ratio = fmt::format("{} {:.2f}x", base->impl, a->median);
        if (base->runs > 1 || r.runs > 1) ratio += fmt::format(" ({:.2f}-{:.2f})", a->low, a->high);
      }
      other_baseline = other_baseline || base->impl != "trident";
    }
    out << fmt::format(layout, first ? r.case_name : "", r.impl, format_value(r.value), r.unit, format_range(r), ratio);
  }
  if (!rows.empty()) {
    out << "\nbaseline vs impl: how many times better the baseline's median"
        << (other_baseline ? " (trident's, else the case's first row's)" : "")
        << " is than the row's\n(>1: the baseline is ahead), with the range over the rounds\n";
  }
  bool any_target = false;
  for (const auto& t : results.targets) {
    if (find_result(rows, t.case_name, t.impl) == nullptr && baseline_of(rows, t.case_name) == nullptr) continue;
    if (!any_target) out << '\n';
    any_target = true;
    const auto check = check_target(t, rows);
    std::string outcome = "(no figure)";
    if (check) {
      outcome =
          fmt::format("{}: {}", t.versus.empty() ? format_value(check->figure) : fmt::format("{:.2f}x", check->figure),
                      check->met ? "met" : "MISSED");
    }
    const std::string who = t.impl == "trident" ? "" : " (" + t.impl + ")";
    out << fmt::format("target {:<44} {}\n", fmt::format("{}: {}{}", t.case_name, t.text, who), outcome);
  }
  if (!results.notes.empty()) out << '\n';
  for (const auto& n : results.notes) out << "note: " << n << '\n';
}

}  // namespace trident::bench
