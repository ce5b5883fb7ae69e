#include "trident/core/json_string.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

using namespace std::string_literals;
using trident::json_escaping;
using trident::json_string;

TEST(json_string, plain_text_is_quoted) {
  EXPECT_EQ(json_string(""), R"("")");
  EXPECT_EQ(json_string("hello world"), R"("hello world")");
}

TEST(json_string, quotes_and_backslashes_are_escaped) {
  EXPECT_EQ(json_string(R"(say "hi")"), R"("say \"hi\"")");
  EXPECT_EQ(json_string(R"(C:\temp\)"), R"("C:\\temp\\")");
  EXPECT_EQ(json_string(R"(\")"), R"("\\\"")");
}

TEST(json_string, control_characters_are_escaped) {
  EXPECT_EQ(json_string("a\nb\rc\td"), R"("a\nb\rc\td")");
  EXPECT_EQ(json_string("nul\0end"s), R"("nul\u0000end")");
  EXPECT_EQ(json_string("\x01\x1f"), R"("\u0001\u001f")");
  EXPECT_EQ(json_string("\b\f"), R"("\u0008\u000c")");
  EXPECT_EQ(json_string("del\x7f"), R"("del\u007f")");
  EXPECT_EQ(json_string(" ~"), R"(" ~")");  // the printable range's ends stay as they are
}

TEST(json_string, multi_byte_utf8_passes_through_unchanged) {
  const std::string text = "caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x93\xa6";  // "café → 📦"
  EXPECT_EQ(json_string(text), "\"" + text + "\"");
}

TEST(json_string, bytes_that_are_not_utf8_pass_through_unchanged) {
  const std::string text = "file\xff\xfe.bin";  // a file name may hold any byte
  EXPECT_EQ(json_string(text), "\"" + text + "\"");
}

TEST(json_string, a_json_reader_reads_back_the_text) {
  const std::string text = "q\"b\\s/ \n\r\t\x01\x7f\0 caf\xc3\xa9 \xf0\x9f\x93\xa6 <&>"s;
  EXPECT_EQ(nlohmann::json::parse(json_string(text)).get<std::string>(), text);
  EXPECT_EQ(nlohmann::json::parse(json_string(text, json_escaping::html_script)).get<std::string>(), text);
}

TEST(json_string, html_script_escaping_also_hides_markup) {
  EXPECT_EQ(json_string("</script><!--&", json_escaping::html_script), R"("\u003c/script\u003e\u003c!--\u0026")");
  EXPECT_EQ(json_string("</script>"), R"("</script>")");  // plain JSON leaves them
}

TEST(json_string, append_keeps_what_was_there) {
  std::string out = "[1,";
  trident::append_json_string(out, "a\"b");
  out += ',';
  trident::append_json_string(out, "<", json_escaping::html_script);
  out += ']';
  EXPECT_EQ(out, R"([1,"a\"b","\u003c"])");
}
