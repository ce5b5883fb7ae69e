#pragma once
/// @file
/// Columns of text on a terminal: how wide a UTF-8 string shows, and padding to a width. The
/// tour's summary table pads with these, since a result such as "web → async" is wider in
/// bytes than on screen and printf's `%-*s` counts bytes.

#include <cstddef>
#include <string>
#include <string_view>

namespace trident::lesson {

/// The columns `text` takes on a terminal: one per character (code point), two for the East
/// Asian wide and fullwidth ones (CJK, Hangul, fullwidth forms, emoji), none for combining marks,
/// zero-width characters and variation selectors. A byte that does not start a valid UTF-8
/// sequence counts as one column. Pure function; thread safe.
[[nodiscard]] std::size_t display_width(std::string_view text) noexcept;

/// `text` followed by spaces up to `width` columns (display_width); as it is when already as
/// wide. Pure function; thread safe.
[[nodiscard]] std::string pad_to_width(std::string_view text, std::size_t width);

}  // namespace trident::lesson
