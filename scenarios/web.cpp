// Scaffold: replaced by the scenario's implementation.
#include "scenario.hpp"

namespace trident::scenarios {

scenario make_web_scenario(const scenario_options&) {
  throw scenario_skipped("the web scenario is not built yet");
}

}  // namespace trident::scenarios
