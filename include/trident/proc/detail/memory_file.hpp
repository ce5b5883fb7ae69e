#pragma once
/// @file
/// Memory files (memfd) that cross a process boundary with a size no process can change.
/// Internal: every shared segment of the process layer is made and attached through here
/// (the worker channels, the payload arena, large frame payloads, proc::shared_bytes and
/// proc::queue's ring).
///
/// Why: a process that holds a memory file's descriptor can `ftruncate` it. Every other process
/// that has it mapped then dies of SIGBUS at its next access past the new end, whatever it
/// checked before. So the maker seals the size (F_SEAL_SHRINK and F_SEAL_GROW, then F_SEAL_SEAL,
/// so the seals themselves are fixed), and a receiver maps another process's memory file only
/// once it has seen those seals: a hostile or broken peer can then write nonsense into the
/// shared bytes, which the readers check like any input, but cannot kill the reader.
///
/// Thread safety: the functions keep no state; any thread may call them.
/// Cancellation: none; each is a few system calls.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace trident::proc::detail {

/// A new memory file of `bytes` bytes (zero-filled, pages allocated on first write), close-on-
/// exec, its size sealed. Throws std::system_error (naming `name`) if the kernel refuses.
[[nodiscard]] int make_sealed_memory_file(const char* name, std::size_t bytes);

/// A new empty memory file that can be sealed later, for a maker that fills it with write(2)
/// and then calls `seal_memory_file_size`. Close-on-exec. Throws std::system_error.
[[nodiscard]] int make_memory_file(const char* name);

/// Seals the size of memory file `fd`, made by `make_memory_file` and filled. Throws
/// std::system_error.
void seal_memory_file_size(int fd);

/// The size of another process's memory file `fd`, once it is known that it can no longer
/// change. Throws protocol_error, its message beginning with `what`, if `fd` is not a memory
/// file or its size is not sealed; the caller then checks the size against what it expects.
[[nodiscard]] std::uint64_t sealed_memory_file_size(int fd, std::string_view what);

}  // namespace trident::proc::detail
