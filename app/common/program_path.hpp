#pragma once
/// @file
/// Where the product's executables find each other: next to the running program, in the build
/// tree's bin/ and in an install's bin/ alike (`trident` runs `trident-transcribe` from there).

#include <filesystem>
#include <string_view>

namespace trident::app {

/// `executable` in the folder of the running program. The folder comes from `/proc/self/exe`,
/// not argv[0], so the PATH and the working directory do not matter. Thread safe.
[[nodiscard]] std::filesystem::path beside_this_program(std::string_view executable);

}  // namespace trident::app
