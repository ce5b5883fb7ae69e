// A task payload as the worker reads it: a task frame's bytes (the task's name, then its
// encoded arguments, encoded_call.hpp), run by `lowlevel::run_encoded` as a worker runs it, for
// tasks whose arguments have lengths (strings, vectors, maps, optionals, variants).
//
// Input: byte 0 chooses one call or a chunk; the rest is the payload.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <variant>
#include <vector>

#include "trident/proc/errors.hpp"
#include "trident/proc/lowlevel/run_encoded.hpp"
#include "trident/proc/task_registry.hpp"

namespace {

std::size_t count_words(std::vector<std::string> words, std::map<std::string, int> weights) {
  std::size_t n = 0;
  for (const auto& w : words) n += w.size() + static_cast<std::size_t>(weights.count(w));
  return n;
}
TRIDENT_TASK(count_words);

std::int64_t sum(std::vector<std::int64_t> values) {
  std::uint64_t total = 0;
  for (auto v : values) total += static_cast<std::uint64_t>(v);
  return static_cast<std::int64_t>(total);
}
TRIDENT_TASK(sum);

std::string describe(std::optional<std::string> name, std::variant<int, std::string> value) {
  return name.value_or("-") + (value.index() == 0 ? std::to_string(std::get<0>(value)) : std::get<1>(value));
}
TRIDENT_TASK(describe);

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  using trident::proc::lowlevel::call_kind;
  const auto kind = data[0] % 2 == 0 ? call_kind::one : call_kind::chunk;
  try {
    const std::string_view payload(reinterpret_cast<const char*>(data) + 1, size - 1);
    (void)trident::proc::lowlevel::run_encoded(kind, payload);
  } catch (const trident::proc::protocol_error&) {
  } catch (const trident::proc::unregistered_task_error&) {}
  return 0;
}
