#pragma once
/// @file
/// Descriptors that travel by inheritance: while a `process` encodes its arguments, objects
/// that live in shared memory (`proc::queue`) record their descriptor here instead of copying
/// their contents. Internal.

#include <vector>

namespace trident::proc::detail {

/// The list the calling thread is collecting into, or nullptr when no `process` is encoding
/// (then such objects cannot be encoded: they only cross by inheritance, as in Python).
std::vector<int>*& inherited_fds() noexcept;

/// Collects into `fds` for the lifetime of this object.
class inherit_scope {
 public:
  explicit inherit_scope(std::vector<int>& fds) noexcept : previous_(inherited_fds()) { inherited_fds() = &fds; }
  inherit_scope(const inherit_scope&) = delete;
  inherit_scope& operator=(const inherit_scope&) = delete;
  ~inherit_scope() { inherited_fds() = previous_; }

 private:
  std::vector<int>* previous_;
};

}  // namespace trident::proc::detail
