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

const std::vector<std::pair<std::string, factory>>& catalog() {
  static const std::vector<std::pair<std::string, factory>> entries{
      {"web", &make_web_scenario},
      {"images", &make_images_scenario},
      {"db", &make_db_scenario},
      {"mixed", &make_mixed_scenario},
  };
  return entries;
}

}  // namespace

const std::vector<std::string>& scenario_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& [name, make] : catalog()) out.push_back(name);
    return out;
  }();
  return names;
}

factory find_factory(const std::string& name) {
  for (const auto& [entry, make] : catalog()) {
    if (entry == name) return make;
  }
  return nullptr;
}

}  // namespace trident::scenarios
