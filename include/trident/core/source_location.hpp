#pragma once
/// @file
/// `trident::source_location`: `std::source_location` where the toolchain has it, else a
/// stand-in with the same members. clang 14 with libstdc++ 12 (one of the two project
/// compilers) lacks `__builtin_source_location`, so `<source_location>` declares nothing there;
/// the stand-in is built from the older `__builtin_FILE/LINE/FUNCTION`, which it has.

#include <version>

#if defined(__cpp_lib_source_location)
#include <source_location>

namespace trident {
using source_location = std::source_location;
}  // namespace trident

#else
#include <cstdint>

namespace trident {

class source_location {
 public:
  static constexpr source_location current(const char* file = __builtin_FILE(),
                                           const char* function = __builtin_FUNCTION(),
                                           std::uint_least32_t line = __builtin_LINE()) noexcept {
    source_location loc;
    loc.file_ = file;
    loc.function_ = function;
    loc.line_ = line;
    return loc;
  }
  constexpr source_location() noexcept = default;
  [[nodiscard]] constexpr const char* file_name() const noexcept { return file_; }
  [[nodiscard]] constexpr const char* function_name() const noexcept { return function_; }
  [[nodiscard]] constexpr std::uint_least32_t line() const noexcept { return line_; }
  [[nodiscard]] constexpr std::uint_least32_t column() const noexcept { return 0; }

 private:
  const char* file_ = "";
  const char* function_ = "";
  std::uint_least32_t line_ = 0;
};

}  // namespace trident
#endif
