#include "trident/aio/detail/frame_allocator.hpp"

#include <sys/mman.h>

#include <cstdint>
#include <mutex>
#include <new>
#include <utility>

namespace trident::aio::detail {

namespace {

/// Guards the shared heap, every heap's `remote` list and the hand-over of pages at thread exit.
constinit std::mutex shared_lock;
/// Pages of threads that ended with blocks still in use, and the blocks of threads that
/// allocate after their own heap closed (in thread-exit destructors). Under `shared_lock`.
constinit frame_heap shared_heap{};

constexpr std::size_t header_bytes = (sizeof(frame_page) + 15) / 16 * 16;

frame_page* page_of_block(void* b) noexcept {
  return reinterpret_cast<frame_page*>(reinterpret_cast<std::uintptr_t>(b) &
                                       ~(std::uintptr_t{frame_allocator::page_bytes} - 1));
}

/// A page for blocks of class `c` owned by `owner` (a spare one, or a new mapping), or nullptr
/// if the system has no memory.
frame_page* map_page(std::size_t c, frame_heap* owner) noexcept {
  constexpr std::size_t bytes = frame_allocator::page_bytes;
  std::uintptr_t aligned = 0;
  if (frame_page* spare = owner->spare) {
    owner->spare = spare->next;
    --owner->spare_count;
    spare->~frame_page();
    aligned = reinterpret_cast<std::uintptr_t>(spare);
  } else {
    // Twice the size, then the unaligned head and tail go back: the page is aligned to its size.
    void* raw = ::mmap(nullptr, 2 * bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return nullptr;
    const auto start = reinterpret_cast<std::uintptr_t>(raw);
    aligned = (start + bytes - 1) & ~(std::uintptr_t{bytes} - 1);
    if (aligned > start) ::munmap(raw, aligned - start);
    const std::uintptr_t tail = aligned + bytes;
    if (start + 2 * bytes > tail) ::munmap(reinterpret_cast<void*>(tail), start + 2 * bytes - tail);
  }

  auto* p = new (reinterpret_cast<void*>(aligned)) frame_page();
  const std::size_t block = c * frame_allocator::granule;
  char* first = reinterpret_cast<char*>(aligned) + header_bytes;
  p->bump = first;
  p->end = first + (bytes - header_bytes) / block * block;
  p->size_class = static_cast<std::uint32_t>(c);
  p->owner.store(owner, std::memory_order_relaxed);
  return p;
}

void unmap_page(frame_page* p) noexcept {
  p->~frame_page();
  ::munmap(p, frame_allocator::page_bytes);
}

/// An empty page of `h`: kept as a spare while there are fewer than `max_spare`, else unmapped.
void retire_page(frame_heap& h, frame_page* p) noexcept {
  if (h.spare_count < frame_allocator::max_spare) {
    p->next = h.spare;
    h.spare = p;
    ++h.spare_count;
    return;
  }
  unmap_page(p);
}

void link_room(frame_heap& h, frame_page* p) noexcept {
  frame_page*& head = h.with_room[p->size_class];
  p->prev = nullptr;
  p->next = head;
  if (head != nullptr) head->prev = p;
  head = p;
  p->listed = true;
}

void unlink_room(frame_heap& h, frame_page* p) noexcept {
  if (p->prev != nullptr) {
    p->prev->next = p->next;
  } else {
    h.with_room[p->size_class] = p->next;
  }
  if (p->next != nullptr) p->next->prev = p->prev;
  p->prev = p->next = nullptr;
  p->listed = false;
}

void link_all(frame_heap& h, frame_page* p) noexcept {
  p->all_prev = nullptr;
  p->all_next = h.all;
  if (h.all != nullptr) h.all->all_prev = p;
  h.all = p;
}

void unlink_all(frame_heap& h, frame_page* p) noexcept {
  if (p->all_prev != nullptr) {
    p->all_prev->all_next = p->all_next;
  } else {
    h.all = p->all_next;
  }
  if (p->all_next != nullptr) p->all_next->all_prev = p->all_prev;
  p->all_prev = p->all_next = nullptr;
}

/// A block of class `c` from `h`'s pages, or from a new page. Nullptr when out of memory.
void* take(frame_heap& h, std::size_t c) noexcept {
  const std::size_t block = c * frame_allocator::granule;
  for (;;) {
    frame_page* p = h.with_room[c];
    if (p == nullptr) {
      p = map_page(c, &h);
      if (p == nullptr) return nullptr;
      link_all(h, p);
      link_room(h, p);
    }
    if (frame_page::block* b = p->free) {
      p->free = b->next;
      ++p->used;
      return b;
    }
    if (p->bump != p->end) {
      void* b = p->bump;
      p->bump += block;
      ++p->used;
      return b;
    }
    unlink_room(h, p);  // full: listed again when a block comes back
  }
}

/// After a block went back to `p` (owned by `h`): a page that was full has room again; an empty
/// page goes back to the system unless it is the only page of its class with room.
void settle_in(frame_heap& h, frame_page* p) noexcept {
  if (!p->listed) {
    link_room(h, p);
    if (p->used != 0) return;
  }
  if (p->used == 0 && (p->prev != nullptr || p->next != nullptr)) {
    unlink_room(h, p);
    unlink_all(h, p);
    retire_page(h, p);
  }
}

/// Frees a block of a page owned by `h`, on `h`'s thread or under the lock for the shared heap.
void free_in(frame_heap& h, frame_page* p, void* ptr) noexcept {
  auto* b = static_cast<frame_page::block*>(ptr);
  b->next = p->free;
  p->free = b;
  --p->used;
  settle_in(h, p);
}

/// Takes back the blocks other threads freed into `h`. Owner thread only.
void drain_remote(frame_heap& h) noexcept {
  frame_page::block* list = nullptr;
  {
    std::lock_guard lock(shared_lock);
    list = h.remote;
    h.remote = nullptr;
    h.remote_pending.store(false, std::memory_order_relaxed);
  }
  while (list != nullptr) {
    frame_page::block* b = list;
    list = b->next;
    free_in(h,
            reinterpret_cast<frame_page*>(reinterpret_cast<std::uintptr_t>(b) &
                                          ~(std::uintptr_t{frame_allocator::page_bytes} - 1)),
            b);
  }
}

}  // namespace

/// Hands a thread's pages over when the thread ends. Constructed with the thread's first page,
/// so threads that never run coroutines pay nothing.
struct frame_heap_reaper {
  ~frame_heap_reaper() {
    frame_heap& h = frame_allocator::local;
    for (std::size_t c = 0; c < frame_heap::classes; ++c) {  // cached blocks back to their pages
      if (frame_page::block* b = std::exchange(h.hot[c], nullptr)) free_in(h, page_of_block(b), b);
      while (frame_page::block* b = h.cache[c]) {
        h.cache[c] = b->next;
        free_in(h, page_of_block(b), b);
      }
      h.cache_count[c] = 0;
    }
    drain_remote(h);
    std::lock_guard lock(shared_lock);
    // Blocks freed by other threads since the drain: back to their pages first.
    while (frame_page::block* b = h.remote) {
      h.remote = b->next;
      auto* p = reinterpret_cast<frame_page*>(reinterpret_cast<std::uintptr_t>(b) &
                                              ~(std::uintptr_t{frame_allocator::page_bytes} - 1));
      b->next = p->free;
      p->free = b;
      --p->used;
    }
    while (frame_page* p = h.all) {
      unlink_all(h, p);
      if (p->listed) unlink_room(h, p);
      if (p->used == 0) {
        unmap_page(p);
        continue;
      }
      // Blocks still in use (a frame that another thread destroys later): the page lives on in
      // the shared heap, where frees of its blocks go from now on.
      p->owner.store(&shared_heap, std::memory_order_relaxed);
      link_all(shared_heap, p);
      link_room(shared_heap, p);
    }
    while (frame_page* p = h.spare) {
      h.spare = p->next;
      unmap_page(p);
    }
    h.spare_count = 0;
    h.state = frame_heap::closed;
  }
};

void* frame_allocator::allocate_slow(std::size_t c) {
  frame_heap& h = local;
  void* b = nullptr;
  if (h.state == frame_heap::closed) {
    // In a thread-exit destructor, after this thread's heap was handed over.
    std::lock_guard lock(shared_lock);
    b = take(shared_heap, c);
  } else {
    if (h.state == frame_heap::fresh) {
      static thread_local frame_heap_reaper reaper;
      (void)&reaper;
      h.state = frame_heap::registered;
    }
    if (h.remote_pending.load(std::memory_order_relaxed)) drain_remote(h);
    b = take(h, c);
  }
  if (b == nullptr) throw std::bad_alloc();
  return b;
}

void frame_allocator::settle(frame_page* p) noexcept { settle_in(local, p); }

void frame_allocator::deallocate_foreign(frame_page* p, void* ptr) noexcept {
  std::lock_guard lock(shared_lock);
  frame_heap* owner = p->owner.load(std::memory_order_relaxed);
  if (owner == &shared_heap) {
    free_in(shared_heap, p, ptr);
    return;
  }
  // A live thread's page: the owner takes the block back on its next refill.
  auto* b = static_cast<frame_page::block*>(ptr);
  b->next = owner->remote;
  owner->remote = b;
  owner->remote_pending.store(true, std::memory_order_relaxed);
}

std::size_t frame_allocator::pages_owned() noexcept {
  std::size_t n = 0;
  for (const frame_page* p = local.all; p != nullptr; p = p->all_next) ++n;
  return n;
}

}  // namespace trident::aio::detail
