// A trace_spans frame's payload as a worker could write it: the span packs
// `trace::take_spans_for_parent` makes, read by `trace::import_spans` in the parent.

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "trident/trace/process_spans.hpp"
#include "trident/trace/recorder.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    trident::trace::import_spans(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const std::invalid_argument&) {  // not a span pack: the pool fails the worker with protocol_error
  }
  trident::trace::clear();  // imported spans are kept until cleared
  return 0;
}
