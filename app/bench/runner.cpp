#include "runner.hpp"

#include <algorithm>
#include <iostream>
#include <map>
#include <set>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "progress_line.hpp"
#include "results_json.hpp"

namespace trident::bench {

suite_runner::suite_runner(std::string suite, const bench_options& options, std::chrono::milliseconds settle)
    : suite_(std::move(suite)), options_(options), settle_(settle) {}

void suite_runner::add(bench_case c) { cases_.push_back(std::move(c)); }

void suite_runner::check_requested_cases() const {
  std::vector<std::string> valid;
  for (const auto& c : cases_) {
    for (const auto& r : c.rows) valid.push_back(r.name);
  }
  for (const auto& name : options_.cases) {
    if (std::find(valid.begin(), valid.end(), name) == valid.end()) {
      throw std::invalid_argument(
          fmt::format("unknown case '{}' for suite '{}' (valid: {})", name, suite_, fmt::join(valid, ", ")));
    }
  }
}

bool suite_runner::wanted(const std::string& row) const {
  return options_.cases.empty() || std::find(options_.cases.begin(), options_.cases.end(), row) != options_.cases.end();
}

void suite_runner::note(std::string text) {
  if (std::find(notes_.begin(), notes_.end(), text) == notes_.end()) notes_.push_back(std::move(text));
}

void suite_runner::add_target(target t) { targets_.push_back(std::move(t)); }

suite_results suite_runner::run() {
  check_requested_cases();
  std::set<const implementation*> unavailable;
  std::vector<std::string> impl_notes;
  // Runs `fn` for `impl` unless it is unavailable; makes it so when `fn` says it cannot run.
  const auto attempt = [&](implementation& impl, auto fn) {
    if (unavailable.contains(&impl)) return;
    try {
      fn();
    } catch (const unavailable_error& e) {
      unavailable.insert(&impl);
      note(fmt::format("{}: {}; no {} rows from here on", impl.name(), e.what(), impl.name()));
    }
    for (auto& n : impl_notes) note(std::move(n));
    impl_notes.clear();
    std::this_thread::sleep_for(settle_);
  };

  // The cases this run measures: those with a selected row.
  std::vector<bench_case*> selected;
  for (auto& c : cases_) {
    if (std::any_of(c.rows.begin(), c.rows.end(), [&](const row_spec& r) { return wanted(r.name); }))
      selected.push_back(&c);
  }
  progress_line progress(options_.progress);
  progress_point where{suite_, "", 0, static_cast<int>(selected.size()), 0, options_.repeat, std::nullopt};
  const int total_rounds = static_cast<int>(selected.size()) * options_.repeat;
  int rounds_done = 0;
  double timed_seconds = 0;  // of the rounds done: what the time left is estimated from

  suite_results out;
  out.suite = suite_;
  for (bench_case* cp : selected) {
    bench_case& c = *cp;
    ++where.case_index;
    where.round = 0;
    // Every run measures all of the case's rows; only the selected ones are reported.
    std::vector<row_spec> reported;
    for (const auto& r : c.rows) {
      if (wanted(r.name)) reported.push_back(r);
    }
    where.case_name = reported.front().name;
    progress.clear();  // a setup may print
    if (c.setup) c.setup();
    progress.show(where);
    for (auto& impl : c.impls) attempt(*impl, [&] { impl->warm_up(c.rows); });

    std::map<std::pair<std::size_t, std::string>, std::vector<double>> samples;  // (impl, row) -> rounds
    std::map<std::pair<std::size_t, std::string>, std::string> units;
    for (int round = 0; round < options_.repeat; ++round) {
      where.round = round + 1;
      progress.show(where);
      const stopwatch clock;
      for (std::size_t i = 0; i < c.impls.size(); ++i) {
        attempt(*c.impls[i], [&] {
          for (auto& f : c.impls[i]->run(c.rows, impl_notes)) {
            samples[{i, f.case_name}].push_back(f.value);
            units[{i, f.case_name}] = f.unit;
          }
        });
      }
      timed_seconds += clock.seconds();
      ++rounds_done;
      where.eta_s = timed_seconds / rounds_done * (total_rounds - rounds_done);
    }
    progress.clear();
    if (c.teardown) c.teardown();

    for (const auto& r : reported) {
      for (std::size_t i = 0; i < c.impls.size(); ++i) {
        const auto it = samples.find({i, r.name});
        if (it == samples.end()) continue;
        const auto [low, high] = std::minmax_element(it->second.begin(), it->second.end());
        result row{
            suite_, r.name, c.impls[i]->name(), median(it->second), units[it->first], r.higher_is_better, c.reference,
            *low,   *high,  it->second.size()};
        if (options_.json) {
          print_json_line(std::cout, row);
          std::cout.flush();
        }
        out.rows.push_back(std::move(row));
      }
    }
  }
  out.notes = notes_;
  for (const auto& t : targets_) {
    if (wanted(t.case_name)) out.targets.push_back(t);
  }
  return out;
}

int report_suite_results(const suite_results& out, const bench_options& options) {
  if (options.json) {
    for (const auto& n : out.notes) std::cerr << "note: " << n << '\n';
  } else {
    print_table(std::cout, out);
  }
  if (options.on_results) options.on_results(out);
  return 0;
}

}  // namespace trident::bench
