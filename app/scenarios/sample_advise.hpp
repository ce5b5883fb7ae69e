#pragma once
/// @file
/// `advise_on_first`: a scenario's advise function over the first items of a list its set-up
/// made (the URLs, the image paths), for the scenarios whose per-item work takes one string.

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "scenario.hpp"
#include "trident/advisor/advise.hpp"

namespace trident::scenarios {

/// Runs `advisor::advise(task, sample)` on the first `count` strings of the list `key` in
/// `inputs.json`. `task` is a registered task (so the process model runs too). Throws what
/// nlohmann-json throws for inputs without that list.
template <class Task>
[[nodiscard]] advise_function advise_on_first(const model_inputs& inputs, const char* key, std::size_t count,
                                              Task* task) {
  std::vector<std::string> items = nlohmann::json::parse(inputs.json).at(key).get<std::vector<std::string>>();
  items.resize(std::min(count, items.size()));
  return [task, sample = std::move(items)](const advisor::advise_options& options) {
    return advisor::advise(task, sample, options);
  };
}

}  // namespace trident::scenarios
