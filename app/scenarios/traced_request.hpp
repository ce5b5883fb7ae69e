#pragma once
/// @file
/// `get_traced`: an HTTP GET through a session, drawn on a timeline as an asynchronous "request"
/// span with its URL (requests in flight together overlap on the loop's thread), so that the
/// scenarios' async models show their requests as the sequential and thread models do theirs.

#include <cstdint>
#include <string>

#include "trident/aio/task.hpp"
#include "trident/http/session.hpp"
#include "trident/trace/recorder.hpp"

namespace trident::scenarios {

/// `session.get(url)`, recorded while a timeline is recorded. Thread safety and cancellation as
/// `http::session::get`; a request that throws leaves no span.
inline aio::task<http::response> get_traced(http::session& session, std::string url) {
  const std::uint64_t start = trace::enabled() ? trace::now_ns() : 0;
  http::response r = co_await session.get(url);
  if (start != 0) trace::record_async("request", "http", start, trace::now_ns(), std::move(url));
  co_return r;
}

}  // namespace trident::scenarios
