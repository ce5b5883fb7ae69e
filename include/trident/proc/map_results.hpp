#pragma once
/// @file
/// The result streams of `process_pool::imap` and `imap_unordered`: `ordered_results` (input
/// order) and `unordered_results` (completion order), each a single-pass range over the chunks it
/// keeps in flight. process_pool.hpp includes this header; it needs no pool of its own, only a
/// function that submits one chunk.

#include <algorithm>
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

/// What `ordered_results` and `unordered_results` share: `count` items cut into chunks of
/// `chunksize`, at most `window` chunks submitted ahead, and the results of one finished chunk
/// handed out one at a time. `Derived` keeps the chunks in flight: it provides
/// `bool take_chunk(std::vector<R>& out)`, which submits more (`fill`) and moves the next
/// finished chunk's results into `out`, or returns false when no chunk is left.
template <class Derived, class R>
class chunked_results {
 public:
  using value_type = R;
  using chunk_fn = std::function<exec::future<std::vector<R>>(std::size_t first, std::size_t n)>;
  using iterator = result_iterator<Derived>;

  /// The next result, or nullopt at the end; rethrows the exception of a failed chunk (a task
  /// that threw, a crashed worker, a timeout) in place of that chunk's results, after which the
  /// stream goes on: the next call gives the results of the chunks after it, as Python's
  /// `imap` iterator does.
  std::optional<R> next() {
    while (buffer_pos_ == buffer_.size()) {
      if (!static_cast<Derived*>(this)->take_chunk(buffer_)) return std::nullopt;
      buffer_pos_ = 0;
    }
    return std::move(buffer_[buffer_pos_++]);
  }

  iterator begin() { return iterator(static_cast<Derived*>(this)); }
  std::default_sentinel_t end() { return {}; }

 protected:
  chunked_results(chunk_fn submit, std::size_t count, std::size_t chunksize, std::size_t window)
      : submit_(std::move(submit)), count_(count), chunksize_(chunksize), window_(window) {}
  chunked_results(chunked_results&&) noexcept = default;
  ~chunked_results() = default;

  /// Cancels the chunks in `futures` not yet started: what abandoning a stream early does.
  template <class Futures>
  static void cancel_unstarted(Futures& futures) {
    for (auto& f : futures) {
      if (f.valid()) f.cancel();
    }
  }

  /// Submits chunks while fewer than `window` are in flight (`in_flight()`) and items are left,
  /// handing each future to `keep(future, chunk_index)`.
  template <class InFlight, class Keep>
  void fill(InFlight in_flight, Keep keep) {
    while (in_flight() < window_ && submitted_ < count_) {
      const std::size_t n = std::min(chunksize_, count_ - submitted_);
      keep(submit_(submitted_, n), submitted_ / chunksize_);
      submitted_ += n;
    }
  }

 private:
  chunk_fn submit_;
  std::size_t count_;
  std::size_t chunksize_;
  std::size_t window_;
  std::size_t submitted_ = 0;
  std::vector<R> buffer_;
  std::size_t buffer_pos_ = 0;
};

}  // namespace detail

/// The results of `process_pool::imap`, in input order. Single pass; the pool must outlive it.
/// Abandoning it early cancels the chunks not yet started. Thread safety: one thread at a time.
template <class R>
class ordered_results : public detail::chunked_results<ordered_results<R>, R> {
  using base = detail::chunked_results<ordered_results<R>, R>;
  friend base;

 public:
  using typename base::chunk_fn;

  ordered_results(chunk_fn submit, std::size_t count, std::size_t chunksize, std::size_t window)
      : base(std::move(submit), count, chunksize, window) {}
  ordered_results(ordered_results&&) noexcept = default;
  ~ordered_results() { base::cancel_unstarted(in_flight_); }

  /// The next result in input order, or nullopt at the end; a failed chunk's exception comes
  /// in its place, and the stream goes on after it.
  using base::next;

 private:
  bool take_chunk(std::vector<R>& out) {
    this->fill([this] { return in_flight_.size(); },
               [this](exec::future<std::vector<R>> f, std::size_t) { in_flight_.push_back(std::move(f)); });
    if (in_flight_.empty()) return false;
    // Off the queue before `get`, which rethrows a failed chunk's exception: the stream then
    // goes on with the next chunk, as unordered_results does.
    exec::future<std::vector<R>> chunk = std::move(in_flight_.front());
    in_flight_.pop_front();
    out = chunk.get();
    return true;
  }

  std::deque<exec::future<std::vector<R>>> in_flight_;
};

/// The results of `process_pool::imap_unordered`, in completion order. Single pass; the pool
/// must outlive it. Abandoning it early cancels the chunks not yet started. One thread at a time.
template <class R>
class unordered_results : public detail::chunked_results<unordered_results<R>, R> {
  using base = detail::chunked_results<unordered_results<R>, R>;
  friend base;

 public:
  using typename base::chunk_fn;

  unordered_results(chunk_fn submit, std::size_t count, std::size_t chunksize, std::size_t window)
      : base(std::move(submit), count, chunksize, window), queue_(std::make_shared<exec::completion_queue>()) {
    const std::size_t chunks = (count + chunksize - 1) / chunksize;
    slots_.resize(chunks);
  }
  unordered_results(unordered_results&&) noexcept = default;
  ~unordered_results() {
    base::cancel_unstarted(slots_);
    // Continuations still hold the queue (shared), so late completions are harmless.
  }

  /// The next result to finish, or nullopt at the end; a failed chunk's exception comes in its
  /// place, and the stream goes on after it.
  using base::next;

 private:
  bool take_chunk(std::vector<R>& out) {
    this->fill([this] { return outstanding_; },
               [this](exec::future<std::vector<R>> f, std::size_t slot) {
                 slots_[slot] = std::move(f);
                 queue_->watch(slots_[slot], slot);
                 ++outstanding_;
               });
    if (outstanding_ == 0) return false;
    const std::size_t index = queue_->pop();
    --outstanding_;
    out = slots_[index].get();
    return true;
  }

  std::size_t outstanding_ = 0;
  std::shared_ptr<exec::completion_queue> queue_;
  std::vector<exec::future<std::vector<R>>> slots_;
};

}  // namespace trident::proc
