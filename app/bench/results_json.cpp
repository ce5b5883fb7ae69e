#include "results_json.hpp"

#include <algorithm>
#include <ostream>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace trident::bench {
namespace {

nlohmann::ordered_json row_json(const result& r) {
  nlohmann::ordered_json j;  // ordered: keys come out as written
  j["suite"] = r.suite;
  j["case"] = r.case_name;
  j["impl"] = r.impl;
  j["value"] = r.value;
  j["unit"] = r.unit;
  j["low"] = r.runs > 0 ? r.low : r.value;
  j["high"] = r.runs > 0 ? r.high : r.value;
  j["runs"] = r.runs;
  j["better"] = r.higher_is_better ? "higher" : "lower";
  if (!r.reference.empty()) j["reference"] = r.reference;
  return j;
}

result row_from_json(const nlohmann::json& j) {
  result r;
  r.suite = j.at("suite").get<std::string>();
  r.case_name = j.at("case").get<std::string>();
  r.impl = j.at("impl").get<std::string>();
  r.value = j.at("value").get<double>();
  r.unit = j.at("unit").get<std::string>();
  r.low = j.value("low", r.value);
  r.high = j.value("high", r.value);
  r.runs = j.value("runs", std::size_t{1});
  r.higher_is_better = j.contains("better") ? j.at("better").get<std::string>() == "higher" : r.unit.ends_with("/s");
  r.reference = j.value("reference", std::string());
  return r;
}

}  // namespace

void print_json_line(std::ostream& out, const result& r) { out << row_json(r).dump() << '\n'; }

std::vector<suite_results> parse_json_lines(const std::string& text) {
  std::vector<suite_results> out;
  std::size_t pos = 0;
  int line_number = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_number;
    if (!line.starts_with("{")) continue;
    result r;
    try {
      r = row_from_json(nlohmann::json::parse(line));
    } catch (const nlohmann::json::exception& e) {
      throw std::invalid_argument(
          fmt::format("line {}: not a result of `trident bench --json`: {}", line_number, e.what()));
    }
    if (out.empty() || out.back().suite != r.suite) {
      auto same = std::find_if(out.begin(), out.end(), [&](const suite_results& s) { return s.suite == r.suite; });
      if (same == out.end()) {
        out.push_back(suite_results{r.suite, {}, {}, {}});
      } else {
        std::rotate(same, same + 1, out.end());  // the suite seen before goes on at the end
      }
    }
    out.back().rows.push_back(std::move(r));
  }
  return out;
}

std::string to_json(const suite_results& results) {
  nlohmann::ordered_json j;
  j["suite"] = results.suite;
  j["rows"] = nlohmann::ordered_json::array();
  for (const auto& r : results.rows) j["rows"].push_back(row_json(r));
  j["notes"] = results.notes;
  j["targets"] = nlohmann::ordered_json::array();
  for (const auto& t : results.targets) {
    j["targets"].push_back(nlohmann::ordered_json{
        {"case", t.case_name}, {"impl", t.impl}, {"versus", t.versus}, {"bound", t.bound}, {"text", t.text}});
  }
  return j.dump(1) + "\n";
}

suite_results suite_results_from_json(const std::string& text) {
  try {
    const auto j = nlohmann::json::parse(text);
    suite_results out;
    out.suite = j.at("suite").get<std::string>();
    for (const auto& r : j.at("rows")) out.rows.push_back(row_from_json(r));
    out.notes = j.at("notes").get<std::vector<std::string>>();
    for (const auto& t : j.at("targets")) {
      out.targets.push_back(target{t.at("case").get<std::string>(), t.at("impl").get<std::string>(),
                                   t.at("versus").get<std::string>(), t.at("bound").get<double>(),
                                   t.at("text").get<std::string>()});
    }
    return out;
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(fmt::format("not a suite's results document: {}", e.what()));
  }
}

}  // namespace trident::bench
