#pragma once
/// @file
/// Safe file names for downloads: from a URL, from a name a user gave, and without collisions.

#include <cstddef>
#include <set>
#include <string>
#include <string_view>

namespace trident::http {

/// A file name for the body of `url`: the last segment of its path, percent-decoded, then made
/// safe by `sanitize_file_name` ("index.html" when the path ends in `/` or is empty). The result
/// is always one plain path component: joined to a directory it names a file directly inside it.
///
/// Pure function; thread safe.
[[nodiscard]] std::string file_name_for(std::string_view url);

/// `name` made into one safe path component: path separators, NUL and control characters become
/// `_`; a leading dot becomes `_` (so no `.`, `..` or hidden files); surrounding spaces go; at
/// most 200 bytes (keeping the extension, never splitting a UTF-8 sequence); "download" if
/// nothing is left.
///
/// Pure function; thread safe.
[[nodiscard]] std::string sanitize_file_name(std::string_view name);

/// The `n`th alternative to `name`: `name` itself for 0, then `stem-1.ext`, `stem-2.ext`, ... (the
/// number goes before the extension, which wget's `.1` breaks; a name without one, or a leading
/// dot only, gets it at the end).
///
/// Pure function; thread safe.
[[nodiscard]] std::string numbered_file_name(const std::string& name, std::size_t n);

/// Hands out distinct names: the first claim of a name gets it, later ones get the first free
/// `numbered_file_name` (`stem-1.ext`, `stem-2.ext`, ...).
///
/// @par Thread safety
/// Not thread safe (one owner).
class name_allocator {
 public:
  /// A name not handed out before, derived from `name` (which must already be safe).
  [[nodiscard]] std::string claim(const std::string& name);

 private:
  std::set<std::string> taken_;
};

}  // namespace trident::http
