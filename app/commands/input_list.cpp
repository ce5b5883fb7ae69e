#include "input_list.hpp"

#include <cerrno>
#include <cstring>
#include <iostream>

#include "exit_codes.hpp"

namespace trident::cli {

input_list::input_list(const std::string& name, std::string_view kind)
    : in_(&std::cin), name_(name == "-" ? "stdin" : name) {
  if (name == "-") return;
  file_.open(name);
  if (!file_) throw usage_error("cannot read " + std::string(kind) + " '" + name + "': " + std::strerror(errno));
  in_ = &file_;
}

}  // namespace trident::cli
