#include "run_summary.hpp"

#include <fmt/format.h>

namespace trident::cli {

std::string outcome_tally::text(std::size_t total, const char* noun) const {
  return fmt::format("{} {}: {} ok, {} skipped, {} failed, {} cancelled", total, noun, ok, skipped, failed, cancelled);
}

}  // namespace trident::cli
