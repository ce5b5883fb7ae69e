#pragma once
/// @file
/// The mixed scenario's job ("50 datasets: fetch + analyse"): the datasets it draws from its
/// seed, each fetched from the loopback internet and analysed (`analyse_dataset`). The models
/// are made by `make_mixed_scenario`.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "scenario.hpp"

namespace trident::scenarios {

/// One dataset, as a path on the loopback internet.
struct dataset_url {
  std::string path;       ///< `/data/ID/MS/ROWS`.
  unsigned delay_ms = 0;  ///< The server's delay before it answers.
  std::size_t rows = 0;
};

/// The datasets for `size` and `seed`. Full: 50 of 50,000–100,000 rows (1–2 MB of CSV) with
/// latencies of 100–500 ms (log-uniform). Small: 12 of 3,000–6,000 rows with 5–50 ms. Pure
/// function.
[[nodiscard]] std::vector<dataset_url> draw_datasets(scale size, std::uint64_t seed);

}  // namespace trident::scenarios
