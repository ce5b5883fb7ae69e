#include "trident/http/file_names.hpp"

#include <cctype>

namespace trident::http {

namespace {

int hex(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

constexpr std::size_t max_name_bytes = 200;

}  // namespace

std::string sanitize_file_name(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    const bool bad = c < 0x20 || c == 0x7f || ch == '/' || ch == '\\';
    out.push_back(bad ? '_' : ch);
  }
  // Surrounding spaces, then leading dots (".", "..", ".hidden").
  while (!out.empty() && out.back() == ' ') out.pop_back();
  std::size_t start = 0;
  while (start < out.size() && out[start] == ' ') ++start;
  out.erase(0, start);
  for (std::size_t i = 0; i < out.size() && out[i] == '.'; ++i) out[i] = '_';
  if (out.size() > max_name_bytes) {
    const auto dot = out.rfind('.');
    std::string ext = (dot != std::string::npos && out.size() - dot <= 16) ? out.substr(dot) : std::string();
    const std::size_t room = max_name_bytes - ext.size();
    std::size_t keep = room;
    // Do not cut a UTF-8 sequence: back up to the start of a character. Bytes that are not
    // UTF-8 (continuation bytes all the way) have no such start: they are cut where they are,
    // rather than leaving the extension alone, a name that starts with a dot (or is ".").
    while (keep > 0 && (static_cast<unsigned char>(out[keep]) & 0xC0) == 0x80) --keep;
    if (keep == 0) keep = room;
    out = out.substr(0, keep) + ext;
  }
  if (out.empty()) out = "download";
  return out;
}

std::string file_name_for(std::string_view url) {
  std::string_view rest = url;
  if (const auto scheme = rest.find("://"); scheme != std::string_view::npos) {
    rest.remove_prefix(scheme + 3);
    const auto slash = rest.find('/');
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  }
  if (const auto cut = rest.find_first_of("?#"); cut != std::string_view::npos) rest = rest.substr(0, cut);
  const auto last = rest.rfind('/');
  const std::string_view segment = last == std::string_view::npos ? rest : rest.substr(last + 1);
  if (segment.empty()) return "index.html";
  return sanitize_file_name(percent_decode(segment));
}

std::string numbered_file_name(const std::string& name, std::size_t n) {
  if (n == 0) return name;
  const auto dot = name.rfind('.');
  const bool has_ext = dot != std::string::npos && dot > 0;
  const std::string stem = has_ext ? name.substr(0, dot) : name;
  const std::string ext = has_ext ? name.substr(dot) : std::string();
  return stem + "-" + std::to_string(n) + ext;
}

std::string name_allocator::claim(const std::string& name) {
  for (std::size_t n = 0;; ++n) {
    std::string candidate = numbered_file_name(name, n);
    if (taken_.insert(candidate).second) return candidate;
  }
}

}  // namespace trident::http
