#pragma once
/// @file
/// The hashes the scenarios' results are checked with: a 64-bit hash of bytes (a response
/// body, a URL) and the order-independent digest of a set of items. Every model of a scenario
/// must arrive at the same digest, whatever order its items finished in.
///
/// Pure functions; thread safe. Not cryptographic: they detect different work, not an adversary.

#include <cstdint>
#include <cstring>
#include <string_view>

namespace trident::scenarios {

/// SplitMix64's finaliser: a bijective mix of 64 bits.
[[nodiscard]] constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

/// A hash of `bytes`, eight at a time (about 0.1 ms for 200 KB).
[[nodiscard]] inline std::uint64_t content_hash(std::string_view bytes) noexcept {
  std::uint64_t h = mix64(bytes.size() ^ 0x9e3779b97f4a7c15ULL);
  std::size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    std::uint64_t word;
    std::memcpy(&word, bytes.data() + i, 8);
    h = mix64(h ^ word) + 0x9e3779b97f4a7c15ULL;
  }
  std::uint64_t tail = 0;
  if (i < bytes.size()) std::memcpy(&tail, bytes.data() + i, bytes.size() - i);
  return mix64(h ^ tail);
}

/// The digest of one item: which URL, what status, what content (a body hash, or the hash of an
/// analysis). Summing these over the items gives a digest that ignores their order.
[[nodiscard]] inline std::uint64_t item_digest(std::string_view url, int status, std::uint64_t content) noexcept {
  return mix64(content_hash(url) ^ mix64(static_cast<std::uint64_t>(status) + 0x632be59bd9b4e019ULL) ^
               mix64(content + 0x2545f4914f6cdd1dULL));
}

}  // namespace trident::scenarios
