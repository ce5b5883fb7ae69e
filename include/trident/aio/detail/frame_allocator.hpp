#pragma once
// Recycling of coroutine frames: what one `co_await some_task()` costs is mostly allocating
// and freeing its frame, so freed frames wait in a small per-thread cache for the next one.

#include <cstddef>
#include <cstdint>
#include <new>

namespace trident::aio::detail {

/// Per-thread free lists of coroutine frames (and spawned-task states) by 8-byte size class.
///
/// - A block in class `c` is always `c * 8` bytes, whichever thread allocated it, so a block
///   freed on another thread serves that thread's next frame of the class.
/// - Each list keeps at most `max_cached` blocks: a burst of a million tasks gives its memory
///   back to the heap when it ends, not to this cache.
/// - A thread's cached blocks are freed when the thread ends.
/// - Frames larger than the largest class go straight to `operator new`.
/// - Under AddressSanitizer every frame goes to `operator new`, so use-after-free of a frame
///   is still caught.
///
/// @par Thread safety
/// Each thread uses its own lists; no synchronisation.
class frame_allocator {
 public:
  static constexpr std::size_t granule = 8;
  static constexpr std::size_t classes = 96;  // frames up to 760 bytes
  static constexpr std::uint32_t max_cached = 128;

  static void* allocate(std::size_t size) {
#if !defined(__SANITIZE_ADDRESS__)
    const std::size_t c = size_class(size);
    if (c < classes) {
      lists& l = local;
      if (block* b = l.heads[c]) {
        l.heads[c] = b->next;
        --l.counts[c];
        return b;
      }
      return ::operator new(c * granule);
    }
#endif
    return ::operator new(size);
  }

  static void deallocate(void* p, [[maybe_unused]] std::size_t size) noexcept {
#if !defined(__SANITIZE_ADDRESS__)
    const std::size_t c = size_class(size);
    lists& l = local;
    if (c < classes && l.counts[c] < max_cached && l.state != lists::closed) {
      if (l.state == lists::fresh) register_thread_exit();
      auto* b = static_cast<block*>(p);
      b->next = l.heads[c];
      l.heads[c] = b;
      ++l.counts[c];
      return;
    }
#endif
    ::operator delete(p);
  }

 private:
  struct block {
    block* next;
  };
  struct lists {
    enum : std::uint8_t { fresh, registered, closed };
    block* heads[classes];
    std::uint32_t counts[classes];
    std::uint8_t state;
  };

  static constexpr std::size_t size_class(std::size_t size) noexcept { return (size + granule - 1) / granule; }

  /// Arranges for this thread's lists to be freed at thread exit; after that, frees go
  /// straight to the heap.
  static void register_thread_exit() noexcept;
  friend struct frame_lists_reaper;

  static inline thread_local constinit lists local{};
};

}  // namespace trident::aio::detail
