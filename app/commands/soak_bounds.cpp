#include "soak_bounds.hpp"

#include <fmt/format.h>

namespace trident::cli::soak {

namespace {

std::string amount(std::int64_t value, bool bytes) {
  if (!bytes) return std::to_string(value);
  return fmt::format("{:.1f} MiB", static_cast<double>(value) / (1 << 20));
}

}  // namespace

std::string growth_violation::message() const {
  return fmt::format("{} grew from {} at the baseline to {}, beyond the bound {} (baseline + {})", resource,
                     amount(start, bytes), amount(now, bytes), amount(bound, bytes), amount(bound - start, bytes));
}

std::vector<growth_violation> check_growth(const resource_sample& baseline, const resource_sample& now,
                                           const growth_limits& limits) {
  std::vector<growth_violation> out;
  auto check = [&](const char* name, std::int64_t start, std::int64_t value, std::int64_t allowed, bool bytes) {
    const std::int64_t bound = start + allowed;
    if (value > bound) out.push_back({name, start, value, bound, bytes});
  };
  check("RSS", baseline.rss_bytes, now.rss_bytes, limits.rss_bytes, true);
  check("open descriptors", baseline.descriptors, now.descriptors, limits.descriptors, false);
  check("memfd descriptors", baseline.memfds, now.memfds, limits.memfds, false);
  check("Shmem", baseline.shmem_bytes, now.shmem_bytes, limits.shmem_bytes, true);
  check("threads", baseline.threads, now.threads, limits.threads, false);
  check("child processes", baseline.processes, now.processes, limits.processes, false);
  return out;
}

std::string describe(const growth_limits& limits) {
  return fmt::format("RSS +{}, descriptors +{}, memfd descriptors +{}, Shmem +{}, threads +{}, child processes +{}",
                     amount(limits.rss_bytes, true), limits.descriptors, limits.memfds,
                     amount(limits.shmem_bytes, true), limits.threads, limits.processes);
}

}  // namespace trident::cli::soak
