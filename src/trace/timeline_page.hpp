#pragma once
// The HTML timeline page (src/trace/timeline_page.html), compiled in by cmake/embed_text.cmake.
// Private to the trace layer.

#include <string_view>

namespace trident::trace::detail {

/// The page's text. Where the trace goes it holds `timeline_data_marker` once.
[[nodiscard]] std::string_view timeline_page();

/// Stands in the page for the trace's JSON (inside a `<script type="application/json">`).
inline constexpr std::string_view timeline_data_marker = "@TRIDENT_TIMELINE_DATA@";

}  // namespace trident::trace::detail
