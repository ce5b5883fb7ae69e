// `trident fetch`'s inputs from outside: a line of a URL list (`URL` or `URL<TAB>NAME`), then
// the file name planned for it, as `fetch` plans it: `file_name_for(url)` or the given name
// through `sanitize_file_name`, made distinct by a `name_allocator`. Every name planned must be
// one plain path component (no separator, no NUL, not `.` or `..`, at most 200 bytes + suffix).
//
// Input: lines of a list (split at '\n').

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "trident/http/fetch.hpp"
#include "trident/http/file_names.hpp"

namespace {

void check_component(const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.front() == '.') __builtin_trap();
  if (name.find('/') != std::string::npos || name.find('\0') != std::string::npos) __builtin_trap();
  if (name.size() > 240) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  trident::http::name_allocator names;
  std::size_t start = 0;
  while (start <= input.size()) {
    std::size_t end = input.find('\n', start);
    if (end == std::string_view::npos) end = input.size();
    const auto item = trident::http::parse_fetch_line(input.substr(start, end - start));
    if (item) {
      const std::string base =
          item->name.empty() ? trident::http::file_name_for(item->url) : trident::http::sanitize_file_name(item->name);
      check_component(base);
      check_component(names.claim(base));
      check_component(trident::http::numbered_file_name(base, 3));
    }
    start = end + 1;
  }
  return 0;
}
