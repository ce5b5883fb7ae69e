// Encoded values as a worker or a queue's other end could write them, through `proc::decode`
// for types with lengths at every level. Nothing may be sized past the bytes; a vector, string
// or pair that decodes must encode back to the bytes it was read from (their encoding has one
// form per value; a set or map may hold duplicates, and a flag any nonzero byte).
//
// Input: byte 0 chooses the type; the rest is the encoding.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <variant>
#include <vector>

#include "trident/proc/codec.hpp"

namespace {

template <class T, bool canonical = false>
void round_trip(std::string_view bytes) {
  T value;
  try {
    value = trident::proc::decode<T>(bytes);
  } catch (const trident::proc::protocol_error&) {
    return;
  }
  // decode reads a prefix: what it read must encode to that prefix.
  const std::string again = trident::proc::encode(value);
  if (canonical && (again.size() > bytes.size() || bytes.substr(0, again.size()) != again)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 6) {
    case 0:
      round_trip<std::vector<std::string>, true>(bytes);
      break;
    case 1:
      round_trip<std::map<std::string, std::vector<std::int32_t>>>(bytes);
      break;
    case 2:
      round_trip<std::vector<std::vector<std::uint64_t>>, true>(bytes);
      break;
    case 3:
      round_trip<std::tuple<std::optional<std::string>, std::variant<std::int8_t, std::string>>>(bytes);
      break;
    case 4:
      round_trip<std::deque<std::set<std::string>>>(bytes);
      break;
    default:
      round_trip<std::pair<std::string, std::string>, true>(bytes);
      break;
  }
  return 0;
}
