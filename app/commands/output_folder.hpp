#pragma once
// A command's output folder, checked before any work starts.

#include <filesystem>

namespace trident::cli {

/// Makes `dir` (and its parents) if missing and checks that files can be made in it, so that a
/// folder that cannot be used is reported once, with its real reason, before any request or file
/// is begun — not once per item. Throws `usage_error` ("cannot save into output folder 'DIR':
/// reason"). Thread safe for distinct folders.
void prepare_output_folder(const std::filesystem::path& dir);

}  // namespace trident::cli
