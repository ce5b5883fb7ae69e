#pragma once
/// @file
/// Spans that cross a process boundary: a worker process packs what it recorded into bytes, its
/// parent unpacks them into its own recorder, and the parent's export then shows every process
/// on one timeline, a lane per process.
///
/// The bytes are Trident's own (both ends run the same binary on the same machine), and times
/// travel as absolute `CLOCK_MONOTONIC` nanoseconds, which every process on a machine shares, so
/// a worker's spans line up with the parent's.

#include <string>
#include <string_view>

namespace trident::trace {

/// Removes every span this process recorded so far and returns them, with the process's name
/// and its threads' names, packed for `import_spans` in another process; the spans this process
/// imported from its own children go along, a pack per process, so a timeline shows every
/// generation (a pool started inside a worker). Empty when there is nothing to send. Thread
/// safe; spans that end concurrently go with this call or the next one.
[[nodiscard]] std::string take_spans_for_parent();

/// Adds spans packed by `take_spans_for_parent` (in another process) to this process's export,
/// on the lanes of the processes they came from. Imported spans are kept even while recording is off, and dropped
/// by `clear()`. Throws std::invalid_argument on bytes that are not such a pack. Thread safe.
void import_spans(std::string_view packed);

}  // namespace trident::trace
