#pragma once
/// @file
/// A Chase-Lev work-stealing deque of pointers: the owner pushes and pops at the bottom (LIFO,
/// good for cache locality of nested tasks), thieves steal from the top (FIFO, oldest and usually
/// largest work first).
///
/// Algorithm: D. Chase and Y. Lev, "Dynamic Circular Work-Stealing Deque" (SPAA 2005), with the
/// C11 memory orders of N. M. Lê, A. Pop, A. Cohen and F. Zappa Nardelli, "Correct and Efficient
/// Work-Stealing for Weak Memory Models" (PPoPP 2013). Two deliberate departures from that paper,
/// both free on x86-64: `push` publishes `bottom_` with a release store instead of a release
/// fence plus relaxed store, and `steal` reads `bottom_` with acquire; ThreadSanitizer does not
/// model stand-alone fences, and with these it sees the happens-before edge from a push to the
/// steal of the same element. Buffers replaced by growth are kept until the deque is destroyed,
/// because a thief may still be reading the old one.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace trident::exec::detail {

template <class T>
class work_stealing_deque {
  static_assert(std::is_pointer_v<T>, "elements are pointers; nullptr means empty");

 public:
  explicit work_stealing_deque(std::size_t initial_capacity = 256)
      : buffer_(new ring(round_up_pow2(initial_capacity))) {
    retired_.emplace_back(buffer_.load(std::memory_order_relaxed));
  }
  work_stealing_deque(const work_stealing_deque&) = delete;
  work_stealing_deque& operator=(const work_stealing_deque&) = delete;

  /// Owner only.
  void push(T item) {
    const std::int64_t b = bottom_.load(std::memory_order_relaxed);
    const std::int64_t t = top_.load(std::memory_order_acquire);
    ring* r = buffer_.load(std::memory_order_relaxed);
    if (b - t > static_cast<std::int64_t>(r->mask)) r = grow(r, t, b);
    r->put(b, item);
    bottom_.store(b + 1, std::memory_order_release);
  }

  /// Owner only. nullptr when empty.
  T pop() {
    const std::int64_t b = bottom_.load(std::memory_order_relaxed) - 1;
    ring* r = buffer_.load(std::memory_order_relaxed);
    bottom_.store(b, std::memory_order_relaxed);
    // Orders the bottom_ store before the top_ load, against a concurrent steal (store-load).
    std::atomic_thread_fence(std::memory_order_seq_cst);
    std::int64_t t = top_.load(std::memory_order_relaxed);
    if (t > b) {  // empty
      bottom_.store(b + 1, std::memory_order_relaxed);
      return nullptr;
    }
    T item = r->get(b);
    if (t == b) {  // last element: race the thieves for it
      if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst, std::memory_order_relaxed)) {
        item = nullptr;
      }
      bottom_.store(b + 1, std::memory_order_relaxed);
    }
    return item;
  }

  /// Any thread. nullptr when empty or when it lost a race (the caller may try elsewhere).
  T steal() {
    const std::int64_t t = top_.load(std::memory_order_acquire);
    // Orders the top_ load before the bottom_ load, against a concurrent pop (load-load across
    // the owner's store-load).
    std::atomic_thread_fence(std::memory_order_seq_cst);
    return take_top(t);
  }

  /// `steal` for a deque whose owner never calls `pop` (a FIFO that only the steal end drains).
  /// Assumes no thread ever pops this deque. The fence in `steal` orders its reads against a
  /// concurrent `pop` lowering `bottom_`; without pops `bottom_` only grows, a stale `top_` only
  /// makes the CAS fail, and the acquire load of `bottom_` still pairs with the release store in
  /// `push` that published the element.
  T steal_unpopped() { return take_top(top_.load(std::memory_order_acquire)); }

  /// Any thread; a snapshot that may be stale by the time it returns.
  [[nodiscard]] bool looks_empty() const noexcept {
    return top_.load(std::memory_order_acquire) >= bottom_.load(std::memory_order_acquire);
  }
  [[nodiscard]] std::size_t approximate_size() const noexcept {
    const auto d = bottom_.load(std::memory_order_relaxed) - top_.load(std::memory_order_relaxed);
    return d > 0 ? static_cast<std::size_t>(d) : 0;
  }

 private:
  struct ring {
    explicit ring(std::size_t capacity) : mask(capacity - 1), slots(new std::atomic<T>[capacity]) {}
    void put(std::int64_t i, T v) noexcept {
      slots[static_cast<std::size_t>(i) & mask].store(v, std::memory_order_relaxed);
    }
    T get(std::int64_t i) const noexcept {
      return slots[static_cast<std::size_t>(i) & mask].load(std::memory_order_relaxed);
    }
    std::size_t mask;
    std::unique_ptr<std::atomic<T>[]> slots;
  };

  /// Claims the element at index `t` if it is still the top and the deque is not empty.
  T take_top(std::int64_t t) {
    const std::int64_t b = bottom_.load(std::memory_order_acquire);
    if (t >= b) return nullptr;
    ring* r = buffer_.load(std::memory_order_acquire);
    T item = r->get(t);
    if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst, std::memory_order_relaxed)) {
      return nullptr;
    }
    return item;
  }

  static std::size_t round_up_pow2(std::size_t n) {
    std::size_t p = 16;
    while (p < n) p <<= 1;
    return p;
  }

  ring* grow(ring* old, std::int64_t t, std::int64_t b) {
    auto* bigger = new ring((old->mask + 1) * 2);
    for (std::int64_t i = t; i < b; ++i) bigger->put(i, old->get(i));
    retired_.emplace_back(bigger);
    buffer_.store(bigger, std::memory_order_release);
    return bigger;
  }

  alignas(64) std::atomic<std::int64_t> top_{0};
  alignas(64) std::atomic<std::int64_t> bottom_{0};
  std::atomic<ring*> buffer_;
  std::vector<std::unique_ptr<ring>> retired_;  // owner only; every ring ever used, freed at the end
};

}  // namespace trident::exec::detail
