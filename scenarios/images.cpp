// Scaffold: replaced by the scenario's implementation.
#include "scenario.hpp"

namespace trident::scenarios {

scenario make_images_scenario(const scenario_options&) {
  throw scenario_skipped("the images scenario is not built yet");
}

}  // namespace trident::scenarios
