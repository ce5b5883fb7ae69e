// The process layer's wire as a worker could write it: bytes on the worker channel, cut into
// reads of any size, through the frame reader; each frame's payload then read the way the pool
// reads that kind (a result's value, an error's (type, message), a trace_spans pack).
//
// Input: byte 0 chooses the read sizes; the rest is the stream.

#include <cstddef>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "trident/proc/codec.hpp"
#include "trident/proc/detail/frame.hpp"
#include "trident/proc/errors.hpp"
#include "trident/trace/process_spans.hpp"
#include "trident/trace/recorder.hpp"

namespace {

using namespace trident::proc;

void read_payload(const detail::frame& f) {
  switch (f.kind) {
    case detail::frame_kind::result:
      // A result is decoded as the type its task returns; a few shapes tasks return.
      (void)decode<std::vector<std::string>>(f.payload);
      (void)decode<std::map<std::string, std::vector<std::int64_t>>>(f.payload);
      (void)decode<std::tuple<int, std::string, double>>(f.payload);
      break;
    case detail::frame_kind::error:
      (void)decode<std::pair<std::string, std::string>>(f.payload);
      break;
    case detail::frame_kind::trace_spans:
      trident::trace::import_spans(f.payload);
      break;
    default:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t step = 1 + data[0] % 97;
  const std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);
  detail::frame_reader reader;
  try {
    for (std::size_t pos = 0; pos < stream.size(); pos += step) {
      reader.feed(stream.substr(pos, step));
      while (auto f = reader.next()) {
        if (f->payload.size() > detail::max_inline_payload) __builtin_trap();  // past the stated maximum
        try {
          read_payload(*f);
        } catch (const protocol_error&) {
        } catch (const std::invalid_argument&) {  // import_spans: not a span pack
        }
      }
    }
  } catch (const protocol_error&) {}
  trident::trace::clear();
  return 0;
}
