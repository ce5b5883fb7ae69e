// The response headers Trident reads, as a server could send them: header lines (split at
// '\n', each as libcurl hands one to Trident, CR LF kept) through `detail::read_header_line`,
// then the headers Trident looks up: Content-Length, Retry-After (`parse_retry_after`) and a
// redirect's Location, whose URL the server chose, through URL -> file name planning (it
// must still give one plain path component).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "../src/http/transfer.hpp"
#include "trident/http/file_names.hpp"
#include "trident/http/response.hpp"
#include "trident/http/retry_policy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  trident::http::response::header_list headers;
  std::size_t start = 0;
  while (start < input.size()) {
    std::size_t end = input.find('\n', start);
    end = end == std::string_view::npos ? input.size() : end + 1;
    trident::http::detail::read_header_line(input.substr(start, end - start), headers);
    start = end;
  }
  const trident::http::response r(200, "http://example.test/", std::move(headers), "");
  if (auto length = r.header("content-length")) {
    volatile std::size_t sink = length->size();
    (void)sink;
  }
  // A fixed "now": the same input gives the same result.
  const std::chrono::system_clock::time_point now{std::chrono::seconds(1'800'000'000)};
  if (auto retry = r.header("Retry-After")) {
    if (auto delay = trident::http::parse_retry_after(*retry, now); delay && delay->count() < 0) __builtin_trap();
  }
  if (auto location = r.header("Location")) {
    const std::string name = trident::http::file_name_for(*location);
    if (name.empty() || name.front() == '.' || name.find('/') != std::string::npos) __builtin_trap();
  }
  return 0;
}
