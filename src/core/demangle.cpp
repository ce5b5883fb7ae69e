#include "trident/core/demangle.hpp"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>

namespace trident {

std::string demangle(const char* mangled) {
  if (mangled == nullptr) return {};
  int status = 0;
  const std::unique_ptr<char, decltype(&std::free)> readable(abi::__cxa_demangle(mangled, nullptr, nullptr, &status),
                                                             &std::free);
  return status == 0 && readable ? std::string(readable.get()) : std::string(mangled);
}

std::string demangle(const std::type_info& type) { return demangle(type.name()); }

}  // namespace trident
