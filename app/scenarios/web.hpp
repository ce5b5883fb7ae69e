#pragma once
/// @file
/// The web scenario's job ("200 URLs"): the URL list it draws from its seed, and what each URL
/// is expected to answer. The models themselves are made by `make_web_scenario`.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "scenario.hpp"

namespace trident::scenarios {

/// One URL of the list, as a path on the loopback internet.
struct web_url {
  std::string path;  ///< `/page/…` or `/status/…` (see loopback_internet.hpp).
  int expected_status = 200;
  unsigned delay_ms = 0;  ///< The server's delay before it answers.
  std::size_t bytes = 0;  ///< Page size; 0 for a failing URL.
};

/// The URL list for `size` and `seed`. Full: 200 URLs, latencies from 50 to 300 ms (log-uniform)
/// with a tail to 1 s on about one URL in eight and 6 slow ones of 1–2 s, pages of 20–200 KB,
/// 6 failing (404, 500, 503). Small: 40 URLs of 5–50 ms, 2 slow ones of 100–200 ms, pages of
/// 5–50 KB, 3 failing. Pure function.
[[nodiscard]] std::vector<web_url> draw_web_urls(scale size, std::uint64_t seed);

}  // namespace trident::scenarios
