#pragma once
/// @file
/// The result streams of `process_pool::imap` and `imap_unordered`: `ordered_results` (input
/// order) and `unordered_results` (completion order), each a single-pass range over the chunks it
/// keeps in flight. process_pool.hpp includes this header; it needs no pool of its own, only a
/// function that submits one chunk.

#include <cstddef>
#include <deque>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "trident/exec/completion_queue.hpp"
#include "trident/exec/future.hpp"

namespace trident::proc {

namespace detail {

/// Input iterator over a result stream whose `next()` returns `std::optional<R>` (nullopt at the
/// end): what `ordered_results` and `unordered_results` hand to a range-for.
template <class Source>
class result_iterator {
 public:
  using value_type = typename Source::value_type;
  using iterator_category = std::input_iterator_tag;
  using difference_type = std::ptrdiff_t;
  result_iterator() = default;
  explicit result_iterator(Source* source) : source_(source), current_(source->next()) {}
  value_type& operator*() { return *current_; }
  result_iterator& operator++() {
    current_ = source_->next();
    return *this;
  }
  void operator++(int) { ++*this; }
  bool operator==(std::default_sentinel_t) const { return !current_.has_value(); }

 private:
  Source* source_ = nullptr;
  std::optional<value_type> current_;
};

}  // namespace detail

/// The results of `process_pool::imap`, in input order. Single pass; the pool must outlive it.
/// Abandoning it early cancels the chunks not yet started. Thread safety: one thread at a time.
template <class R>
class ordered_results {
 public:
  using value_type = R;
  using chunk_fn = std::function<exec::future<std::vector<R>>(std::size_t first, std::size_t n)>;

  ordered_results(chunk_fn submit, std::size_t count, std::size_t chunksize, std::size_t window)
      : submit_(std::move(submit)), count_(count), chunksize_(chunksize), window_(window) {}
  ordered_results(ordered_results&&) noexcept = default;
  ~ordered_results() {
    for (auto& f : in_flight_) {
      if (f.valid()) f.cancel();
    }
  }

  /// The next result in input order, or nullopt at the end; rethrows the item's exception.
  std::optional<R> next() {
    while (buffer_pos_ == buffer_.size()) {
      fill();
      if (in_flight_.empty()) return std::nullopt;
      buffer_ = in_flight_.front().get();
      buffer_pos_ = 0;
      in_flight_.pop_front();
    }
    return std::move(buffer_[buffer_pos_++]);
  }

  using iterator = detail::result_iterator<ordered_results>;
  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() { return {}; }

 private:
  void fill() {
    while (in_flight_.size() < window_ && submitted_ < count_) {
      const std::size_t n = std::min(chunksize_, count_ - submitted_);
      in_flight_.push_back(submit_(submitted_, n));
      submitted_ += n;
    }
  }

  chunk_fn submit_;
  std::size_t count_;
  std::size_t chunksize_;
  std::size_t window_;
  std::size_t submitted_ = 0;
  std::deque<exec::future<std::vector<R>>> in_flight_;
  std::vector<R> buffer_;
  std::size_t buffer_pos_ = 0;
};

/// The results of `process_pool::imap_unordered`, in completion order. Single pass; the pool
/// must outlive it. Abandoning it early cancels the chunks not yet started. One thread at a time.
template <class R>
class unordered_results {
 public:
  using value_type = R;
  using chunk_fn = std::function<exec::future<std::vector<R>>(std::size_t first, std::size_t n)>;

  unordered_results(chunk_fn submit, std::size_t count, std::size_t chunksize, std::size_t window)
      : submit_(std::move(submit)),
        count_(count),
        chunksize_(chunksize),
        window_(window),
        queue_(std::make_shared<exec::completion_queue>()) {
    const std::size_t chunks = (count + chunksize - 1) / chunksize;
    slots_.resize(chunks);
  }
  unordered_results(unordered_results&&) noexcept = default;
  ~unordered_results() {
    for (auto& f : slots_) {
      if (f.valid()) f.cancel();
    }
    // Continuations still hold the queue (shared), so late completions are harmless.
  }

  /// The next result to finish, or nullopt at the end; rethrows the item's exception.
  std::optional<R> next() {
    while (buffer_pos_ == buffer_.size()) {
      fill();
      if (outstanding_ == 0) return std::nullopt;
      const std::size_t index = queue_->pop();
      --outstanding_;
      buffer_ = slots_[index].get();
      buffer_pos_ = 0;
    }
    return std::move(buffer_[buffer_pos_++]);
  }

  using iterator = detail::result_iterator<unordered_results>;
  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() { return {}; }

 private:
  void fill() {
    while (outstanding_ < window_ && submitted_ < count_) {
      const std::size_t n = std::min(chunksize_, count_ - submitted_);
      const std::size_t slot = submitted_ / chunksize_;
      slots_[slot] = submit_(submitted_, n);
      queue_->watch(slots_[slot], slot);
      ++outstanding_;
      submitted_ += n;
    }
  }

  chunk_fn submit_;
  std::size_t count_;
  std::size_t chunksize_;
  std::size_t window_;
  std::size_t submitted_ = 0;
  std::size_t outstanding_ = 0;
  std::shared_ptr<exec::completion_queue> queue_;
  std::vector<exec::future<std::vector<R>>> slots_;
  std::vector<R> buffer_;
  std::size_t buffer_pos_ = 0;
};

}  // namespace trident::proc
