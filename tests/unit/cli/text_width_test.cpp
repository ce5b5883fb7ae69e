// Padding by columns on screen (app/tour/text_width.hpp), which the tour's summary table
// uses: a UTF-8 character is one column however many bytes it takes.

#include "text_width.hpp"

#include <gtest/gtest.h>

#include <string>

using trident::lesson::display_width;
using trident::lesson::pad_to_width;

// Regression (issue #22, item 10): the tour's row 23, "web → async, images → processes, …", was
// padded by bytes, and its four arrows (3 bytes, 1 column each) left it 8 columns short.
TEST(text_width, a_multi_byte_character_is_one_column) {
  const std::string result = "web → async, images → processes, db → threads, mixed → hybrid";
  EXPECT_EQ(result.size(), 69u);
  EXPECT_EQ(display_width(result), 61u);
  const std::string padded = pad_to_width(result, 70);
  EXPECT_EQ(display_width(padded), 70u);
  EXPECT_EQ(padded.size(), 78u);  // nine spaces after the 69 bytes
  EXPECT_EQ(padded.substr(0, result.size()), result);
  // Two cells padded to one width line up on screen, whatever their bytes.
  EXPECT_EQ(display_width(pad_to_width("web -> async", 20)), display_width(pad_to_width("web → async", 20)));
}

TEST(text_width, ascii_pads_as_printf_does_and_wider_text_is_left_whole) {
  EXPECT_EQ(pad_to_width("ok", 5), "ok   ");
  EXPECT_EQ(pad_to_width("already wide", 4), "already wide");
  EXPECT_EQ(display_width(""), 0u);
}

TEST(text_width, wide_combining_and_invalid_characters) {
  EXPECT_EQ(display_width("日本語"), 6u);              // East Asian wide: two columns each
  EXPECT_EQ(display_width("ＡＢ"), 4u);                // fullwidth forms
  EXPECT_EQ(display_width("e\xCC\x81t\xC3\xA9"), 3u);  // e + combining acute, t, precomposed é
  EXPECT_EQ(display_width("\xFF"
                          "a"
                          "\xE2\x86"),
            4u);  // each stray byte is a column of its own
  EXPECT_EQ(display_width(pad_to_width("日本", 6)), 6u);
  EXPECT_EQ(pad_to_width("日本", 6), "日本  ");
}
