#pragma once
/// @file
/// `aio::async_generator<T>`: a coroutine that `co_yield`s values and may `co_await` between
/// them (Python's async generator, iterated with `async for`).

#include <coroutine>
#include <exception>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "trident/aio/task.hpp"

namespace trident::aio {

/// A lazy stream of `T`: the body runs only while the consumer waits for the next value, up to
/// its next `co_yield` (or its end). The body may `co_await` anything a task may (sleep, I/O,
/// other tasks, queues).
///
/// Iterate with the awaiting counterpart of a range-for (`async for chunk in gen:`):
/// @code
///   aio::async_generator<std::string> chunks(std::string text, std::size_t n) {
///     for (std::size_t i = 0; i < text.size(); i += n) {
///       co_await aio::sleep(1ms);  // e.g. waiting for the network
///       co_yield text.substr(i, n);
///     }
///   }
///   aio::task<void> consume() {
///     auto gen = chunks("hello world", 4);
///     for (auto it = co_await gen.begin(); it != gen.end(); co_await ++it) use(*it);
///   }
/// @endcode
/// or `while (auto v = co_await gen.next()) use(*v);`.
///
/// - Each yielded value is stored (moved or copied) in the generator until the consumer asks for
///   the next one; `*it` refers to it.
/// - An exception escaping the body is rethrown from the `co_await` that was advancing it; the
///   generator is then finished.
/// - Destroying the generator before the end destroys the suspended body (its destructors run;
///   it is not resumed). Move-only. `begin()` may be awaited once.
///
/// @par Thread safety
/// Loop thread only; one consumer at a time (never advance it from two tasks at once).
///
/// @par Cancellation
/// The body runs as part of the consuming task: cancelling that task raises `cancelled_error`
/// at the Trident awaitable the body is suspended on (if it is waiting), which unwinds the body
/// and is rethrown to the consumer from `begin()`/`++it`/`next()`. A value already yielded stays
/// with the consumer; nothing is yielded twice or skipped.
template <class T>
class [[nodiscard]] async_generator {
  static_assert(!std::is_reference_v<T>, "async_generator<T>: T must be a value type");

 public:
  using value_type = std::remove_cv_t<T>;

  class promise_type : public detail::promise_base {
   public:
    async_generator get_return_object() noexcept {
      return async_generator(std::coroutine_handle<promise_type>::from_promise(*this));
    }

    struct yield_awaiter {
      bool await_ready() const noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> self) noexcept {
        return self.promise().continuation_;
      }
      void await_resume() const noexcept {}
    };

    template <class U = value_type>
      requires std::is_constructible_v<value_type, U&&>
    yield_awaiter yield_value(U&& v) noexcept(std::is_nothrow_constructible_v<value_type, U&&>) {
      value_.emplace(std::forward<U>(v));
      return {};
    }
    void return_void() noexcept {}

    std::optional<value_type> value_;
  };

  using handle_type = std::coroutine_handle<promise_type>;

  class iterator;

  /// Resumes the body until its next `co_yield` or its end.
  class advance_awaiter {
   public:
    advance_awaiter(handle_type gen, iterator* target) noexcept : gen_(gen), target_(target) {}
    bool await_ready() const noexcept { return !gen_ || gen_.done(); }
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> caller) noexcept {
      auto& p = gen_.promise();
      p.continuation_ = caller;
      p.context_ = lowlevel::context_of(caller.promise());  // the body runs as part of the consumer
      p.value_.reset();
      return gen_;
    }
    iterator await_resume() {
      iterator it(gen_ && !gen_.done() ? gen_ : handle_type{});
      if (gen_ && gen_.done()) {
        if (auto e = std::exchange(gen_.promise().error_, nullptr)) {
          if (target_ != nullptr) *target_ = it;
          std::rethrow_exception(e);
        }
      }
      if (target_ != nullptr) *target_ = it;
      return it;
    }

   private:
    handle_type gen_;
    iterator* target_;
  };

  /// Input iterator over the yielded values; `co_await ++it` advances it.
  class iterator {
   public:
    using value_type = async_generator::value_type;
    using difference_type = std::ptrdiff_t;

    iterator() noexcept = default;
    explicit iterator(handle_type h) noexcept : gen_(h) {}

    /// The current value. Assumes `*this != end()`.
    value_type& operator*() const noexcept { return *gen_.promise().value_; }
    value_type* operator->() const noexcept { return std::addressof(**this); }
    /// Awaitable: `co_await ++it` moves to the next value (or to `end()`).
    [[nodiscard]] advance_awaiter operator++() noexcept { return advance_awaiter(gen_, this); }
    friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.gen_ == b.gen_; }

   private:
    handle_type gen_;
  };

  async_generator() noexcept = default;
  async_generator(async_generator&& o) noexcept
      : handle_(std::exchange(o.handle_, nullptr)), started_(std::exchange(o.started_, false)) {}
  async_generator& operator=(async_generator&& o) noexcept {
    if (this != &o) {
      if (handle_) handle_.destroy();
      handle_ = std::exchange(o.handle_, nullptr);
      started_ = std::exchange(o.started_, false);
    }
    return *this;
  }
  async_generator(const async_generator&) = delete;
  async_generator& operator=(const async_generator&) = delete;
  ~async_generator() {
    if (handle_) handle_.destroy();
  }

  /// Awaitable: runs the body to its first `co_yield`; returns an iterator to that value (or
  /// `end()`). Throws std::logic_error when awaited a second time.
  [[nodiscard]] advance_awaiter begin() {
    if (!handle_) throw std::logic_error("async_generator has no coroutine (moved from?)");
    if (std::exchange(started_, true)) throw std::logic_error("async_generator::begin called twice");
    return advance_awaiter(handle_, nullptr);
  }
  [[nodiscard]] iterator end() const noexcept { return iterator(); }

  /// Awaitable: the next value, or `nullopt` at the end (an alternative to the iterators).
  [[nodiscard]] task<std::optional<value_type>> next() {
    if (!handle_) throw std::logic_error("async_generator has no coroutine (moved from?)");
    started_ = true;
    iterator it = co_await advance_awaiter(handle_, nullptr);
    if (it == end()) co_return std::nullopt;
    co_return std::move(*it);
  }

 private:
  explicit async_generator(handle_type h) noexcept : handle_(h) {}

  handle_type handle_;
  bool started_ = false;
};

}  // namespace trident::aio
