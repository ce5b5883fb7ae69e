#pragma once
// The list a command reads its items from (`-i FILE`, or `-i -` for stdin).

#include <fstream>
#include <istream>
#include <string>
#include <string_view>

namespace trident::cli {

/// The list named by a command's `-i`: the file `name`, or stdin for "-", open for reading.
/// Not thread safe (one reader); stdin is shared with the rest of the process.
class input_list {
 public:
  /// Opens the list. Throws `usage_error` ("cannot read KIND 'NAME': reason") when the file
  /// cannot be opened; `kind` says what the list holds ("URL list").
  input_list(const std::string& name, std::string_view kind);

  /// The lines to read.
  [[nodiscard]] std::istream& stream() noexcept { return *in_; }

  /// How messages name the list: the file's name, or "stdin".
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

 private:
  std::ifstream file_;
  std::istream* in_;
  std::string name_;
};

}  // namespace trident::cli
