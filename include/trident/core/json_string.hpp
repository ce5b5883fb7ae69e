#pragma once
/// @file
/// `trident::append_json_string`: text written as a JSON string literal. What the trace files
/// (Chrome trace JSON, the HTML timeline's data) and `fetch_all`'s JSON lines write their texts
/// with.
///
/// Why a helper of Trident's own rather than nlohmann-json, which the command and the tests use:
/// the installed layers (trace, http) do not depend on nlohmann-json, and even a private use in a
/// static library would make `find_package(trident)` look for it; and these texts (span names,
/// URLs, file paths) are bytes that need not be valid UTF-8, which nlohmann-json refuses to write.

#include <string>
#include <string_view>

namespace trident {

/// Which characters are escaped beyond those JSON requires.
enum class json_escaping {
  /// `"`, `\` and the control characters U+0000..U+001F, and DEL (U+007F) so that the output
  /// stays printable.
  plain,
  /// Also `<`, `>` and `&`: the literal can sit inside an HTML `<script>` element, where neither
  /// `</script>` nor `<!--` may appear.
  html_script,
};

/// Appends `text` to `out` as a JSON string literal, quotes included. `"` and `\` are escaped
/// with a backslash; `\n`, `\r` and `\t` as such; the other control characters (and those that
/// `escaping` adds) as `\u00XX`. Every other byte is copied unchanged: UTF-8 passes through as it
/// is, and so do bytes that are not valid UTF-8 (a file name may hold any byte but `/` and NUL),
/// which a strict JSON reader may then reject.
///
/// @par Thread safety
/// Safe to call from any number of threads at once, with a different `out` each (it keeps no
/// state; `out` is written without locking).
///
/// @par Errors
/// Throws `std::bad_alloc` only; `out` then holds what was appended so far.
void append_json_string(std::string& out, std::string_view text, json_escaping escaping = json_escaping::plain);

/// `text` as a JSON string literal, quotes included: `append_json_string` to an empty string.
[[nodiscard]] std::string json_string(std::string_view text, json_escaping escaping = json_escaping::plain);

}  // namespace trident
