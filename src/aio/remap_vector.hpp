#pragma once
// A growable array of trivially copyable values whose storage grows in place (mremap), for the
// loop's ready queue and timer heap: a queue that grows to a million entries never holds the old
// and the new copy at once, as a std::vector does while it reallocates (1.5x its size at the
// peak), and the kernel moves pages instead of copying them.

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

namespace trident::aio::detail {

/// Loop thread only (no synchronisation). Throws std::bad_alloc when the system has no memory.
template <class T>
class remap_vector {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);

 public:
  remap_vector() noexcept = default;
  remap_vector(const remap_vector&) = delete;
  remap_vector& operator=(const remap_vector&) = delete;
  ~remap_vector() { release(); }

  void push_back(const T& v) {
    if (size_ == capacity_) grow();
    data_[size_++] = v;
  }
  void pop_back() noexcept { --size_; }
  void clear() noexcept { size_ = 0; }
  /// Keeps the first `n` elements (`n` at most `size()`).
  void truncate(std::size_t n) noexcept { size_ = n; }
  /// Gives the storage back to the system.
  void release() noexcept {
    if (data_ != nullptr) ::munmap(data_, capacity_ * sizeof(T));
    data_ = nullptr;
    size_ = capacity_ = 0;
  }
  /// Gives back to the system the whole pages that hold only elements in [`from`, `to`), which
  /// the caller is done with: they read as zeros from here on (and cost a page fault each when
  /// written again). The size and the capacity stay.
  void discard(std::size_t from, std::size_t to) noexcept {
    const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));  // rare: every 65,536 steps
    const auto first = (reinterpret_cast<std::uintptr_t>(data_ + from) + page - 1) & ~(page - 1);
    const auto last = reinterpret_cast<std::uintptr_t>(data_ + to) & ~(page - 1);
    if (first < last) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
  }
  void swap(remap_vector& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(capacity_, other.capacity_);
  }

  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  T& operator[](std::size_t i) noexcept { return data_[i]; }
  const T& operator[](std::size_t i) const noexcept { return data_[i]; }
  T& front() noexcept { return data_[0]; }
  const T& front() const noexcept { return data_[0]; }
  T& back() noexcept { return data_[size_ - 1]; }
  T* begin() noexcept { return data_; }
  T* end() noexcept { return data_ + size_; }

 private:
  static constexpr std::size_t first_bytes = 4096;

  void grow() {
    const std::size_t old_bytes = capacity_ * sizeof(T);
    const std::size_t new_bytes = old_bytes == 0 ? first_bytes : 2 * old_bytes;
    void* p = old_bytes == 0 ? ::mmap(nullptr, new_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                             : ::mremap(data_, old_bytes, new_bytes, MREMAP_MAYMOVE);
    if (p == MAP_FAILED) throw std::bad_alloc();
    data_ = static_cast<T*>(p);
    capacity_ = new_bytes / sizeof(T);
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace trident::aio::detail
