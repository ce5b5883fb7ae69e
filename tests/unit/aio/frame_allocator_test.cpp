#include "trident/aio/detail/frame_allocator.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

namespace trident::aio::detail {
namespace {

struct block {
  void* p;
  std::size_t size;
};

void fill(const block& b, unsigned char v) { std::memset(b.p, v, b.size); }
bool holds(const block& b, unsigned char v) {
  const auto* c = static_cast<const unsigned char*>(b.p);
  return std::all_of(c, c + b.size, [v](unsigned char x) { return x == v; });
}

// Blocks of every class are distinct, keep what was written into them, and are aligned as an
// object of their size can need: 16 bytes for a multiple of 16, else 8.
TEST(frame_allocator, blocks_are_distinct_aligned_and_keep_their_contents) {
  std::vector<block> blocks;
  for (std::size_t size = 8; size <= 760; size += 8) {
    for (int i = 0; i < 50; ++i) blocks.push_back({frame_allocator::allocate(size), size});
  }
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const auto address = reinterpret_cast<std::uintptr_t>(blocks[i].p);
    EXPECT_EQ(address % (blocks[i].size % 16 == 0 ? 16 : 8), 0u) << blocks[i].size;
    fill(blocks[i], static_cast<unsigned char>(i));
  }
  for (std::size_t i = 0; i < blocks.size(); ++i) EXPECT_TRUE(holds(blocks[i], static_cast<unsigned char>(i))) << i;
  for (const auto& b : blocks) frame_allocator::deallocate(b.p, b.size);
}

// A burst gives its pages back when it ends: what stays is bounded by a page per class in use
// and the pages of the few blocks the thread keeps cached, not by the burst.
TEST(frame_allocator, a_burst_gives_its_pages_back) {
#if !TRIDENT_FRAME_SLAB
  GTEST_SKIP() << "under AddressSanitizer, blocks come from operator new";
#endif
  const std::size_t before = frame_allocator::pages_owned();
  std::vector<void*> burst;
  for (int i = 0; i < 200'000; ++i) burst.push_back(frame_allocator::allocate(136));
  EXPECT_GT(frame_allocator::pages_owned(), before + 100);
  std::shuffle(burst.begin(), burst.end(), std::mt19937(7));
  for (void* p : burst) frame_allocator::deallocate(p, 136);
  EXPECT_LE(frame_allocator::pages_owned(), before + 1 + frame_allocator::cache_limit);
}

// A block freed on its thread is the next one of its class handed out there (the `hot` slot),
// and only of its class.
TEST(frame_allocator, a_freed_block_is_handed_out_again_for_its_class) {
#if !TRIDENT_FRAME_SLAB
  GTEST_SKIP() << "under AddressSanitizer, blocks come from operator new";
#endif
  void* first = frame_allocator::allocate(136);
  frame_allocator::deallocate(first, 136);
  void* other_class = frame_allocator::allocate(144);
  EXPECT_NE(other_class, first);
  void* again = frame_allocator::allocate(136);
  EXPECT_EQ(again, first);
  frame_allocator::deallocate(again, 136);
  frame_allocator::deallocate(other_class, 144);
}

// A thread that ends with blocks in its `hot` slots and caches gives their pages back to the
// system: the kept blocks go back to their pages before the pages are released.
TEST(frame_allocator, a_thread_that_ends_gives_back_the_pages_of_its_kept_blocks) {
#if !TRIDENT_FRAME_SLAB
  GTEST_SKIP() << "under AddressSanitizer, blocks come from operator new";
#endif
  std::vector<void*> pages;
  std::thread t([&] {
    // Two blocks of one class: one goes to the hot slot, the other to the cache.
    void* a = frame_allocator::allocate(232);
    void* b = frame_allocator::allocate(232);
    frame_allocator::deallocate(a, 232);
    frame_allocator::deallocate(b, 232);
    for (void* p : {a, b}) {
      pages.push_back(reinterpret_cast<void*>(reinterpret_cast<std::uintptr_t>(p) &
                                              ~(std::uintptr_t{frame_allocator::page_bytes} - 1)));
    }
  });
  t.join();
  for (void* page : pages) {
    unsigned char resident = 0;
    // mincore fails with ENOMEM on an address that is no longer mapped.
    EXPECT_EQ(::mincore(page, frame_allocator::page_bytes, &resident), -1);
    EXPECT_EQ(errno, ENOMEM);
  }
}

// Blocks freed on another thread go back to the owner's pages, while the owner lives and after
// it ended; and blocks of a thread that ended can still be freed anywhere.
TEST(frame_allocator, blocks_freed_on_other_threads_go_back_safely) {
  std::vector<block> mine;
  for (int i = 0; i < 10'000; ++i) mine.push_back({frame_allocator::allocate(96), 96});
  for (const auto& b : mine) fill(b, 0x5a);
  std::thread other([&] {
    for (const auto& b : mine) {
      EXPECT_TRUE(holds(b, 0x5a));
      frame_allocator::deallocate(b.p, b.size);
    }
  });
  other.join();
  // The owner takes them back when it refills; the blocks it gets are usable.
  std::vector<block> again;
  for (int i = 0; i < 20'000; ++i) again.push_back({frame_allocator::allocate(96), 96});
  for (const auto& b : again) fill(b, 0x33);
  for (const auto& b : again) EXPECT_TRUE(holds(b, 0x33));
  for (const auto& b : again) frame_allocator::deallocate(b.p, b.size);

  // Made on a thread that then ends, freed here.
  std::vector<block> orphans;
  std::thread maker([&] {
    for (int i = 0; i < 10'000; ++i) orphans.push_back({frame_allocator::allocate(200), 200});
    for (const auto& b : orphans) fill(b, 0x77);
  });
  maker.join();
  for (const auto& b : orphans) EXPECT_TRUE(holds(b, 0x77));
  for (const auto& b : orphans) frame_allocator::deallocate(b.p, b.size);
}

// Many threads allocating and freeing each other's blocks at once.
TEST(frame_allocator, threads_exchanging_blocks) {
  constexpr int threads = 4;
  constexpr int rounds = 20'000;
  std::vector<std::vector<void*>> handed(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < rounds; ++i) handed[t].push_back(frame_allocator::allocate(64 + 8 * (i % 8)));
    });
  }
  for (auto& w : workers) w.join();
  workers.clear();
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      auto& theirs = handed[(t + 1) % threads];
      for (int i = 0; i < rounds; ++i) frame_allocator::deallocate(theirs[i], 64 + 8 * (i % 8));
      for (int i = 0; i < rounds; ++i) frame_allocator::deallocate(frame_allocator::allocate(128), 128);
    });
  }
  for (auto& w : workers) w.join();
}

}  // namespace
}  // namespace trident::aio::detail
