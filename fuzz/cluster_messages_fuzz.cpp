// A worker rank's messages as the driver reads them (src/cluster/messages.hpp): tag_ready
// (`read_ready`) and tag_result (`read_header`, then `read_failure` for a task that did not
// return a value). A rank runs the same binary, but its bytes are checked as a worker's are.
//
// Input: byte 0 chooses the message; the rest is its bytes.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "../src/cluster/messages.hpp"
#include "trident/proc/errors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace trident::cluster::detail;
  if (size == 0) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    if (data[0] % 2 == 0) {
      (void)read_ready(bytes);
    } else {
      result_header h{};
      std::string_view body;
      if (read_header(bytes, h, body) && h.outcome != static_cast<std::uint8_t>(outcome::value)) {
        (void)read_failure(static_cast<outcome>(h.outcome), body);
      }
    }
  } catch (const trident::proc::protocol_error&) {}
  return 0;
}
