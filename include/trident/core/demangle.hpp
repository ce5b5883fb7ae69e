#pragma once
/// @file
/// `trident::demangle`: a C++ type or symbol name as a reader writes it. What every layer uses to
/// name an exception type in a message (a posted task's escaped exception, a worker's error sent
/// across a process boundary) or a function found by `dladdr`.

#include <string>
#include <typeinfo>

namespace trident {

/// The readable form of the mangled C++ name `mangled` (Itanium C++ ABI, as `typeid(x).name()`
/// and the dynamic symbol table give it): `"St13runtime_error"` becomes `"std::runtime_error"`.
/// Text that does not parse as a mangled name (`"main"`, `"not a name"`) comes back unchanged; a
/// null pointer gives an empty string.
///
/// @par Thread safety
/// Safe to call from any number of threads at once: it keeps no state of its own
/// (`abi::__cxa_demangle` writes into a buffer it allocates for each call).
///
/// @par Errors
/// Throws `std::bad_alloc` only, when there is no memory for the result.
[[nodiscard]] std::string demangle(const char* mangled);

/// The readable name of `type`: `demangle(type.name())`.
[[nodiscard]] std::string demangle(const std::type_info& type);

}  // namespace trident
