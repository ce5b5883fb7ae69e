#include "trident/core/json_string.hpp"

namespace trident {

namespace {

/// The two-character escape of `byte` (`\n`), or an empty view when it has none.
std::string_view short_escape(unsigned char byte) noexcept {
  switch (byte) {
    case '"':
      return "\\\"";
    case '\\':
      return "\\\\";
    case '\n':
      return "\\n";
    case '\r':
      return "\\r";
    case '\t':
      return "\\t";
    default:
      return {};
  }
}

/// Whether `byte`, having no short escape, is written as `\u00XX`.
bool needs_unicode_escape(unsigned char byte, json_escaping escaping) noexcept {
  if (byte < 0x20 || byte == 0x7f) return true;
  return escaping == json_escaping::html_script && (byte == '<' || byte == '>' || byte == '&');
}

}  // namespace

void append_json_string(std::string& out, std::string_view text, json_escaping escaping) {
  static constexpr char hex[] = "0123456789abcdef";
  out.reserve(out.size() + text.size() + 2);
  out.push_back('"');
  std::size_t unescaped_from = 0;  // bytes [unescaped_from, i) are copied in one append
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    const std::string_view escape = short_escape(byte);
    if (escape.empty() && !needs_unicode_escape(byte, escaping)) continue;
    out.append(text.substr(unescaped_from, i - unescaped_from));
    if (escape.empty()) {
      const char code[] = {'\\', 'u', '0', '0', hex[byte >> 4], hex[byte & 0xf]};
      out.append(code, sizeof code);
    } else {
      out.append(escape);
    }
    unescaped_from = i + 1;
  }
  out.append(text.substr(unescaped_from));
  out.push_back('"');
}

std::string json_string(std::string_view text, json_escaping escaping) {
  std::string out;
  append_json_string(out, text, escaping);
  return out;
}

}  // namespace trident
