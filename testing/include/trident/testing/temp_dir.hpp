#pragma once
/// @file
/// `testing::temp_dir`: a fresh directory for one test, removed with everything in it.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace trident::testing {

/// Creates `<system temp dir>/<prefix>-XXXXXX` (mkdtemp: a new, private directory) and removes it
/// with its content on destruction. For tests that check what a writer leaves behind.
///
/// @par Thread safety
/// A plain object: one owner. `names` reads the file system and may run on any thread.
struct temp_dir {
  /// Throws std::system_error when the directory cannot be created.
  explicit temp_dir(std::string_view prefix = "trident-test");
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir();

  /// The names in the directory (or in its sub-directory `sub`), sorted.
  [[nodiscard]] std::vector<std::string> names(const std::filesystem::path& sub = {}) const;

  std::filesystem::path path;
};

}  // namespace trident::testing
