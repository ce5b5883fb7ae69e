#include "trident/aio/detail/frame_allocator.hpp"

namespace trident::aio::detail {

/// Frees a thread's cached frames when the thread ends. Constructed on the thread's first
/// cached frame, so threads that never run coroutines pay nothing.
struct frame_lists_reaper {
  ~frame_lists_reaper() {
    auto& l = frame_allocator::local;
    for (std::size_t c = 0; c < frame_allocator::classes; ++c) {
      while (frame_allocator::block* b = l.heads[c]) {
        l.heads[c] = b->next;
        ::operator delete(b);
      }
      l.counts[c] = 0;
    }
    l.state = frame_allocator::lists::closed;  // frames freed later in thread exit: to the heap
  }
};

void frame_allocator::register_thread_exit() noexcept {
  static thread_local frame_lists_reaper reaper;
  (void)&reaper;
  local.state = lists::registered;
}

}  // namespace trident::aio::detail
