#include "compare_runs.hpp"

#include <algorithm>
#include <fstream>
#include <optional>
#include <ostream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

#include "results_json.hpp"

namespace trident::bench {
namespace {

std::string ratio_text(const std::optional<ratio_range>& r) {
  return r ? fmt::format("{:.2f}x ({:.2f}-{:.2f})", r->median, r->low, r->high) : std::string("-");
}

/// "+12%" / "-3%": how far `after` is from `before`, in the direction that is better.
std::string change_text(double before, double after) {
  if (before <= 0 || after <= 0) return "-";
  return fmt::format("{:+.0f}%", (after / before - 1) * 100);
}

std::vector<result> read_rows(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::invalid_argument(fmt::format("cannot read '{}'", path));
  std::stringstream text;
  text << in.rdbuf();
  std::vector<result> rows;
  try {
    for (auto& s : parse_json_lines(text.str())) rows.insert(rows.end(), s.rows.begin(), s.rows.end());
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(fmt::format("{}: {}", path, e.what()));
  }
  if (rows.empty()) {
    throw std::invalid_argument(
        fmt::format("'{}' holds no results (save a run with `trident bench SUITE --json > FILE`)", path));
  }
  return rows;
}

}  // namespace

void print_comparison(std::ostream& out, const std::vector<result>& a, const std::vector<result>& b) {
  // The cases in A's order, then those only B has.
  std::vector<std::pair<std::string, std::string>> cases;  // (suite, case)
  for (const auto* rows : {&a, &b}) {
    for (const auto& r : *rows) {
      const std::pair key{r.suite, r.case_name};
      if (std::find(cases.begin(), cases.end(), key) == cases.end()) cases.push_back(key);
    }
  }
  const bool several_suites =
      std::any_of(cases.begin(), cases.end(), [&](const auto& c) { return c.first != cases.front().first; });
  constexpr const char* layout = "{:<20} {:<16} {:>30} {:>30} {:>8}\n";
  out << fmt::format(layout, "case", "impl", "A", "B", "change");
  bool first = true;
  for (const auto& [suite, case_name] : cases) {
    std::vector<result> in_a;
    std::vector<result> in_b;
    for (const auto& r : a) {
      if (r.suite == suite && r.case_name == case_name) in_a.push_back(r);
    }
    for (const auto& r : b) {
      if (r.suite == suite && r.case_name == case_name) in_b.push_back(r);
    }
    if (!first) out << '\n';
    first = false;
    const result* base_a = baseline_of(in_a, case_name);
    const result* base_b = baseline_of(in_b, case_name);
    const std::string label = several_suites ? suite + "/" + case_name : case_name;
    if (base_a == nullptr || base_b == nullptr) {
      out << fmt::format(layout, label, "", base_a ? "measured" : "absent", base_b ? "measured" : "absent", "-");
      continue;
    }
    if (base_a->impl != base_b->impl) {
      out << fmt::format(layout, label, "", "base " + base_a->impl, "base " + base_b->impl, "-");
      continue;
    }
    // The baseline's own median: the change is positive where B is better.
    const auto own = [](const result& r) {
      return fmt::format("{} {}{}", format_value(r.value), r.unit, r.runs > 1 ? " (" + format_range(r) + ")" : "");
    };
    const double gain = base_a->higher_is_better ? base_b->value / base_a->value : base_a->value / base_b->value;
    out << fmt::format(layout, label, base_a->impl, own(*base_a), own(*base_b),
                       base_a->value > 0 && base_b->value > 0 ? fmt::format("{:+.0f}%", (gain - 1) * 100) : "-");
    // Every other implementation: the baseline's advantage over it, in A and in B.
    std::vector<std::string> impls;
    for (const auto* rows : {&in_a, &in_b}) {
      for (const auto& r : *rows) {
        if (r.impl != base_a->impl && std::find(impls.begin(), impls.end(), r.impl) == impls.end())
          impls.push_back(r.impl);
      }
    }
    for (const auto& impl : impls) {
      const result* ra = find_result(in_a, case_name, impl);
      const result* rb = find_result(in_b, case_name, impl);
      const auto adv_a = ra ? advantage(*base_a, *ra) : std::nullopt;
      const auto adv_b = rb ? advantage(*base_b, *rb) : std::nullopt;
      out << fmt::format(layout, "", "vs " + impl, ratio_text(adv_a), ratio_text(adv_b),
                         adv_a && adv_b ? change_text(adv_a->median, adv_b->median) : "-");
    }
  }
  out << "\nA, B: the baseline's (trident's) median with its range over the rounds, then how many times better it\n"
         "is than each other implementation (>1: ahead), with that ratio's range (worst round against best, best\n"
         "against worst); change: B against A, positive where B is better for the baseline\n";
}

int run_compare(const std::string& a_path, const std::string& b_path, std::ostream& out) {
  const auto a = read_rows(a_path);
  const auto b = read_rows(b_path);
  print_comparison(out, a, b);
  return 0;
}

}  // namespace trident::bench
