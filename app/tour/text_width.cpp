// Display width of UTF-8 text (text_width.hpp): a small table of the ranges that are not one
// column, after Unicode's East Asian Width property (W and F) and its zero-width characters.

#include "text_width.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

namespace trident::lesson {
namespace {

struct code_range {
  char32_t first;
  char32_t last;
};

/// Characters that take no column of their own: combining marks, zero-width spaces and joiners,
/// variation selectors.
constexpr std::array zero_width{
    code_range{0x0300, 0x036F}, code_range{0x0483, 0x0489}, code_range{0x0591, 0x05BD},   code_range{0x0610, 0x061A},
    code_range{0x064B, 0x065F}, code_range{0x1AB0, 0x1AFF}, code_range{0x1DC0, 0x1DFF},   code_range{0x200B, 0x200F},
    code_range{0x2028, 0x202E}, code_range{0x2060, 0x2064}, code_range{0x20D0, 0x20FF},   code_range{0xFE00, 0xFE0F},
    code_range{0xFE20, 0xFE2F}, code_range{0xFEFF, 0xFEFF}, code_range{0xE0100, 0xE01EF},
};

/// East Asian wide (W) and fullwidth (F) characters: two columns.
constexpr std::array double_width{
    code_range{0x1100, 0x115F},   code_range{0x231A, 0x231B},   code_range{0x2329, 0x232A},
    code_range{0x23E9, 0x23EC},   code_range{0x23F0, 0x23F0},   code_range{0x23F3, 0x23F3},
    code_range{0x25FD, 0x25FE},   code_range{0x2614, 0x2615},   code_range{0x2648, 0x2653},
    code_range{0x267F, 0x267F},   code_range{0x2693, 0x2693},   code_range{0x26A1, 0x26A1},
    code_range{0x26AA, 0x26AB},   code_range{0x26BD, 0x26BE},   code_range{0x26C4, 0x26C5},
    code_range{0x26CE, 0x26CE},   code_range{0x26D4, 0x26D4},   code_range{0x26EA, 0x26EA},
    code_range{0x26F2, 0x26F3},   code_range{0x26F5, 0x26F5},   code_range{0x26FA, 0x26FA},
    code_range{0x26FD, 0x26FD},   code_range{0x2705, 0x2705},   code_range{0x270A, 0x270B},
    code_range{0x2728, 0x2728},   code_range{0x274C, 0x274C},   code_range{0x274E, 0x274E},
    code_range{0x2753, 0x2755},   code_range{0x2757, 0x2757},   code_range{0x2795, 0x2797},
    code_range{0x27B0, 0x27B0},   code_range{0x27BF, 0x27BF},   code_range{0x2B1B, 0x2B1C},
    code_range{0x2B50, 0x2B50},   code_range{0x2B55, 0x2B55},   code_range{0x2E80, 0x303E},
    code_range{0x3041, 0x33FF},   code_range{0x3400, 0x4DBF},   code_range{0x4E00, 0x9FFF},
    code_range{0xA000, 0xA4CF},   code_range{0xA960, 0xA97F},   code_range{0xAC00, 0xD7A3},
    code_range{0xF900, 0xFAFF},   code_range{0xFE10, 0xFE19},   code_range{0xFE30, 0xFE6F},
    code_range{0xFF00, 0xFF60},   code_range{0xFFE0, 0xFFE6},   code_range{0x16FE0, 0x16FE4},
    code_range{0x17000, 0x18CFF}, code_range{0x1B000, 0x1B2FF}, code_range{0x1F004, 0x1F004},
    code_range{0x1F0CF, 0x1F0CF}, code_range{0x1F18E, 0x1F18E}, code_range{0x1F191, 0x1F19A},
    code_range{0x1F200, 0x1F251}, code_range{0x1F300, 0x1F64F}, code_range{0x1F680, 0x1F6FF},
    code_range{0x1F7E0, 0x1F7EB}, code_range{0x1F90C, 0x1F9FF}, code_range{0x1FA70, 0x1FAFF},
    code_range{0x20000, 0x2FFFD}, code_range{0x30000, 0x3FFFD},
};

template <std::size_t N>
bool in(const std::array<code_range, N>& ranges, char32_t c) noexcept {
  return std::any_of(ranges.begin(), ranges.end(), [c](const code_range& r) { return c >= r.first && c <= r.last; });
}

/// The code point starting at `text[at]` and its length in bytes; a byte that starts no valid
/// sequence is a length-1 "character" of its own.
std::pair<char32_t, std::size_t> decode(std::string_view text, std::size_t at) noexcept {
  const auto lead = static_cast<unsigned char>(text[at]);
  std::size_t length = 0;
  char32_t c = 0;
  if (lead < 0x80) return {lead, 1};
  if ((lead & 0xE0) == 0xC0) {
    length = 2;
    c = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    c = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    c = lead & 0x07;
  } else {
    return {lead, 1};
  }
  if (at + length > text.size()) return {lead, 1};
  for (std::size_t k = 1; k < length; ++k) {
    const auto next = static_cast<unsigned char>(text[at + k]);
    if ((next & 0xC0) != 0x80) return {lead, 1};
    c = (c << 6) | (next & 0x3F);
  }
  return {c, length};
}

}  // namespace

std::size_t display_width(std::string_view text) noexcept {
  std::size_t width = 0;
  for (std::size_t at = 0; at < text.size();) {
    const auto [c, length] = decode(text, at);
    at += length;
    if (length > 1 && in(zero_width, c)) continue;
    width += length > 1 && in(double_width, c) ? 2 : 1;
  }
  return width;
}

std::string pad_to_width(std::string_view text, std::size_t width) {
  std::string padded(text);
  const std::size_t shown = display_width(text);
  if (shown < width) padded.append(width - shown, ' ');
  return padded;
}

}  // namespace trident::lesson
