#pragma once
/// @file
/// Memory for queued task nodes: per-thread free lists in a few size classes, refilled and
/// drained in batches through a shared transfer cache (the scheme of tcmalloc's per-thread and
/// central caches, reduced to what a task pool needs).
///
/// Why not plain `new`: a pool's nodes are typically allocated on one thread and freed on
/// another. glibc keeps only a handful of freed blocks per thread, so a producer/consumer flow
/// sends nearly every free and malloc to the locked arena. Here a consumer's frees collect in its
/// own list and travel back to producers 256 at a time, one lock acquisition per batch.
///
/// Under AddressSanitizer the cache is bypassed, so use-after-free of a node is still caught.

#include <cstddef>

namespace trident::exec::detail {

/// Memory for one node of `size` bytes (aligned as `new` would). Thread safe.
void* allocate_node(std::size_t size);

/// Returns memory from `allocate_node(size)`, on any thread. Thread safe.
void deallocate_node(void* p, std::size_t size) noexcept;

}  // namespace trident::exec::detail
