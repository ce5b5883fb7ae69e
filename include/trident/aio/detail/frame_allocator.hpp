#pragma once
// Slab allocation of coroutine frames and spawned-task states: blocks without per-block
// headers, carved from aligned pages, with each page's free blocks kept in the page.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>

// Under AddressSanitizer (GCC's macro, clang's feature test) blocks come from operator new.
#if defined(__SANITIZE_ADDRESS__)
#define TRIDENT_FRAME_SLAB 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TRIDENT_FRAME_SLAB 0
#endif
#endif
#ifndef TRIDENT_FRAME_SLAB
#define TRIDENT_FRAME_SLAB 1
#endif

namespace trident::aio::detail {

struct frame_heap;

/// One page of blocks of a single size. Pages are `frame_allocator::page_bytes` long and aligned
/// to that size, so the page of a block is its address rounded down: a block needs no header.
struct frame_page {
  struct block {
    block* next;
  };
  // What a free on the owner's thread touches comes first, in one cache line.
  block* free = nullptr;                    ///< Freed blocks of this page (owner thread, or under the lock).
  std::atomic<frame_heap*> owner{nullptr};  ///< Changed only by the owner (at its exit), under the lock.
  std::uint32_t used = 0;                   ///< Blocks handed out and not freed.
  std::uint32_t size_class = 0;
  bool listed = false;         ///< In the list of pages with room.
  frame_page* prev = nullptr;  ///< In the owner's list of pages of this class with room.
  frame_page* next = nullptr;
  char* bump = nullptr;            ///< The next block never handed out.
  char* end = nullptr;             ///< Past the last whole block.
  frame_page* all_prev = nullptr;  ///< In the owner's list of all its pages.
  frame_page* all_next = nullptr;
};

/// A thread's pages by size class. The fast paths are in `frame_allocator`; the rest in
/// frame_allocator.cpp.
struct frame_heap {
  static constexpr std::size_t classes = 96;
  enum : std::uint8_t { fresh, registered, closed };

  frame_page* with_room[classes];  ///< Per class: pages that may have a free block; head first.
  /// Per class: a block this thread freed (a free fills the slot when it is empty), handed out
  /// first. One slot and no count, so a `co_await` of a short task, which frees and allocates
  /// the same block over and over, neither reads the block's link nor updates a count on each
  /// await: the slot's store of the freed block and the next allocation's load of it are all
  /// that is chained through memory from one await to the next.
  frame_page::block* hot[classes];
  /// Per class: up to `cache_limit - 1` more blocks this thread freed, still counted as used by
  /// their pages (as is the `hot` one), handed out before any page is looked at.
  frame_page::block* cache[classes];
  std::uint8_t cache_count[classes];
  frame_page* all;            ///< Every page this heap owns.
  frame_page::block* remote;  ///< Blocks freed by other threads, under the global lock.
  frame_page* spare;          ///< Empty pages kept for reuse by any class, up to `max_spare`.
  std::atomic<bool> remote_pending;
  std::uint8_t spare_count;
  std::uint8_t state;
};

/// Coroutine frames and spawned-task states by 8-byte size class, from a slab.
///
/// - A class holds blocks of `c * 8` bytes, cut from 64 KiB pages aligned to 64 KiB (mmap).
///   The page is found from a block's address, so blocks have no header: a 136-byte frame
///   takes 136 bytes, not the 144 of a malloc chunk. Blocks of a size that is a multiple of 16
///   are 16-byte aligned; others are 8-byte aligned, which is all an object of such a size can
///   need (a size is a multiple of the alignment).
/// - Each thread keeps the last few blocks it freed of each class (`cache_limit`) and hands them
///   out first: a `co_await` of a short task frees and allocates the same block over and over,
///   and then touches no page header. One of them sits in a slot of its own (`hot`), filled by
///   a free when empty, so that round trip is one store and one load of the slot.
/// - Each thread allocates from pages it owns, without synchronisation. A block freed on the
///   owning thread goes back to its page; one freed on another thread is handed to the owner
///   under a lock, and the owner takes those back when it next runs out of room. A page whose
///   blocks are all free goes back to the system, unless it is the last page of its class
///   with room or one of the thread's 128 spare pages (8 MiB), which any class reuses: a
///   burst of a million tasks gives its memory back when it ends, and a gather of 100,000
///   children does not pay for mapping and faulting in fresh pages each time (it ran 2.5x
///   slower with 64 spare pages, which it outgrew).
/// - When a thread ends, its pages with blocks still in use pass to a shared heap (under the
///   lock), so blocks may outlive the thread that allocated them.
/// - Blocks larger than the largest class (760 bytes) go to `operator new`.
/// - Under AddressSanitizer every block goes to `operator new`, so a frame used after it was
///   freed is still reported.
///
/// @par Thread safety
/// Thread safe: allocate and free on any thread.
class frame_allocator {
 public:
  static constexpr std::size_t granule = 8;
  static constexpr std::size_t classes = frame_heap::classes;  // blocks up to 760 bytes
  static constexpr std::size_t page_bytes = 64 * 1024;
  static constexpr std::size_t max_spare = 128;
  static constexpr std::uint8_t cache_limit = 8;

  static void* allocate(std::size_t size) {
#if TRIDENT_FRAME_SLAB
    const std::size_t c = size_class(size);
    if (c < classes) {
      frame_heap& h = local;
      if (frame_page::block* b = h.hot[c]) {
        h.hot[c] = nullptr;
        return b;
      }
      if (frame_page::block* b = h.cache[c]) {
        h.cache[c] = b->next;
        --h.cache_count[c];
        return b;
      }
      if (frame_page* p = h.with_room[c]) {
        if (frame_page::block* b = p->free) {
          p->free = b->next;
          ++p->used;
          return b;
        }
      }
      return allocate_slow(c);
    }
#endif
    return ::operator new(size);
  }

  static void deallocate(void* ptr, [[maybe_unused]] std::size_t size) noexcept {
#if TRIDENT_FRAME_SLAB
    const std::size_t c = size_class(size);
    if (c < classes) {
      frame_page* p = page_of(ptr);
      frame_heap& h = local;
      if (p->owner.load(std::memory_order_relaxed) == &h) {
        auto* b = static_cast<frame_page::block*>(ptr);
        if (h.hot[c] == nullptr) {
          h.hot[c] = b;
          return;
        }
        if (h.cache_count[c] < cache_limit - 1) {
          b->next = h.cache[c];
          h.cache[c] = b;
          ++h.cache_count[c];
          return;
        }
        b->next = p->free;
        p->free = b;
        // A page that was full gets room again; an empty page with others beside it goes.
        if ((--p->used == 0 && (p->prev != nullptr || p->next != nullptr)) || !p->listed) [[unlikely]]
          settle(p);
        return;
      }
      deallocate_foreign(p, ptr);
      return;
    }
#endif
    ::operator delete(ptr);
  }

  /// The pages this thread owns now (for tests and memory reports).
  static std::size_t pages_owned() noexcept;

 private:
  static constexpr std::size_t size_class(std::size_t size) noexcept { return (size + granule - 1) / granule; }
  static frame_page* page_of(void* ptr) noexcept {
    return reinterpret_cast<frame_page*>(reinterpret_cast<std::uintptr_t>(ptr) & ~(std::uintptr_t{page_bytes} - 1));
  }

  static void* allocate_slow(std::size_t c);
  /// After a free on the owner's thread: relists a page that was full, releases an empty one.
  static void settle(frame_page* p) noexcept;
  static void deallocate_foreign(frame_page* p, void* ptr) noexcept;

  friend struct frame_heap_reaper;
  static inline thread_local constinit frame_heap local{};
};

}  // namespace trident::aio::detail
