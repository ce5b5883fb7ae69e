// The list of scenarios and where generated inputs are cached.

#include <unistd.h>

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "scenario.hpp"

namespace trident::scenarios {

std::filesystem::path default_cache_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg == '/') {
    return std::filesystem::path(xdg) / "trident";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home == '/') {
    return std::filesystem::path(home) / ".cache" / "trident";
  }
  return std::filesystem::path("/tmp") / ("trident-cache-" + std::to_string(::getuid()));
}

namespace {

struct entry {
  std::string name;
  factory make;
  std::vector<model> (*models)(const model_inputs&);
  advise_function (*advise)(const model_inputs&);
};

const std::vector<entry>& catalog() {
  static const std::vector<entry> entries{
      {"web", &make_web_scenario, &make_web_models, &make_web_advise},
      {"images", &make_images_scenario, &make_images_models, &make_images_advise},
      {"db", &make_db_scenario, &make_db_models, &make_db_advise},
      {"mixed", &make_mixed_scenario, &make_mixed_models, &make_mixed_advise},
  };
  return entries;
}

}  // namespace

const std::vector<std::string>& scenario_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const entry& e : catalog()) out.push_back(e.name);
    return out;
  }();
  return names;
}

factory find_factory(const std::string& name) {
  for (const entry& e : catalog()) {
    if (e.name == name) return e.make;
  }
  return nullptr;
}

std::vector<model> make_models(const std::string& name, const model_inputs& inputs) {
  for (const entry& e : catalog()) {
    if (e.name == name) return e.models(inputs);
  }
  return {};
}

advise_function make_advise(const std::string& name, const model_inputs& inputs) {
  for (const entry& e : catalog()) {
    if (e.name == name) return e.advise(inputs);
  }
  return {};
}

}  // namespace trident::scenarios
