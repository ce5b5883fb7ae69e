#include "trident/exec/detail/node_allocator.hpp"

#include <array>
#include <cstdint>
#include <mutex>
#include <new>

// Layout
//   - Size classes of 64, 128, 192 and 256 bytes; larger nodes use plain new/delete.
//   - Each thread keeps one singly linked free list per class (no synchronisation at all).
//   - When a list grows past 2 * batch_size, one batch of batch_size blocks is moved to the
//     class's transfer stack (a mutex-guarded list of batches). When a list is empty, a whole
//     batch is taken from there; only when that is empty too does `operator new` run.
//   - The transfer stack keeps at most max_batches batches; beyond that, batches go back to the
//     system allocator, so a burst cannot pin memory forever.
//   - A thread's lists go to the transfer stacks (or the system) when the thread exits.

namespace trident::exec::detail {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool cache_enabled = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool cache_enabled = false;
#else
constexpr bool cache_enabled = true;
#endif
#else
constexpr bool cache_enabled = true;
#endif

constexpr std::size_t class_bytes = 64;
constexpr std::size_t class_count = 4;
constexpr std::uint32_t batch_size = 256;
constexpr std::size_t max_batches = 256;  // per class: at most 16 MiB of 256-byte nodes kept

/// Returns a block to the system allocator. The size helps it when the compiler offers sized
/// deallocation; clang does not by default (-fsized-deallocation), and needs no flag here.
void free_to_system(void* p, [[maybe_unused]] std::size_t size) noexcept {
#if defined(__cpp_sized_deallocation)
  ::operator delete(p, size);
#else
  ::operator delete(p);
#endif
}

struct free_block {
  free_block* next;
  free_block* next_batch;  // valid in the first block of a batch on a transfer stack
  std::uint32_t batch_length;
};
static_assert(sizeof(free_block) <= class_bytes);

struct transfer_stack {
  std::mutex mutex;
  free_block* batches = nullptr;
  std::size_t count = 0;
};

std::array<transfer_stack, class_count>& transfer() {
  static auto* stacks = new std::array<transfer_stack, class_count>();  // outlives every thread
  return *stacks;
}

void release_batch(std::size_t c, free_block* batch, std::uint32_t length) noexcept {
  auto& stack = transfer()[c];
  {
    std::lock_guard lock(stack.mutex);
    if (stack.count < max_batches) {
      batch->next_batch = stack.batches;
      batch->batch_length = length;
      stack.batches = batch;
      ++stack.count;
      return;
    }
  }
  while (batch != nullptr) {
    free_block* next = batch->next;
    free_to_system(batch, (c + 1) * class_bytes);
    batch = next;
  }
}

// Set when the calling thread's cache has been destroyed (thread exit; on the main thread,
// before static objects that may still free nodes). Trivially destructible, so it outlives the
// cache; from then on the thread uses plain new and delete.
thread_local bool cache_gone = false;

struct thread_cache {
  std::array<free_block*, class_count> lists{};
  std::array<std::uint32_t, class_count> lengths{};

  ~thread_cache() {
    cache_gone = true;
    for (std::size_t c = 0; c < class_count; ++c) {
      if (lists[c] != nullptr) release_batch(c, lists[c], lengths[c]);
      lists[c] = nullptr;
      lengths[c] = 0;
    }
  }

  void* pop(std::size_t c) {
    if (lists[c] == nullptr && !refill(c)) return ::operator new((c + 1) * class_bytes);
    free_block* b = lists[c];
    lists[c] = b->next;
    --lengths[c];
    return b;
  }

  void push(std::size_t c, void* p) noexcept {
    auto* b = static_cast<free_block*>(p);
    b->next = lists[c];
    lists[c] = b;
    if (++lengths[c] < 2 * batch_size) return;
    // Split off the newest batch_size blocks and hand them to the transfer stack.
    free_block* batch = lists[c];
    free_block* last = batch;
    for (std::uint32_t i = 1; i < batch_size; ++i) last = last->next;
    lists[c] = last->next;
    last->next = nullptr;
    lengths[c] -= batch_size;
    release_batch(c, batch, batch_size);
  }

  bool refill(std::size_t c) {
    auto& stack = transfer()[c];
    std::lock_guard lock(stack.mutex);
    free_block* batch = stack.batches;
    if (batch == nullptr) return false;
    stack.batches = batch->next_batch;
    --stack.count;
    lists[c] = batch;
    lengths[c] = batch->batch_length;
    return true;
  }
};

thread_cache& this_thread_cache() {
  thread_local thread_cache cache;
  return cache;
}

}  // namespace

void* allocate_node(std::size_t size) {
  const std::size_t c = (size - 1) / class_bytes;
  if (!cache_enabled || size == 0 || c >= class_count) return ::operator new(size);
  if (cache_gone) return ::operator new((c + 1) * class_bytes);  // a block of its class, as always
  return this_thread_cache().pop(c);
}

void deallocate_node(void* p, std::size_t size) noexcept {
  const std::size_t c = (size - 1) / class_bytes;
  if (!cache_enabled || size == 0 || c >= class_count) {
    free_to_system(p, size);
    return;
  }
  if (cache_gone) {
    free_to_system(p, (c + 1) * class_bytes);
    return;
  }
  this_thread_cache().push(c, p);
}

}  // namespace trident::exec::detail
