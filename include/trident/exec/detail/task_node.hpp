#pragma once
/// @file
/// The unit of work queued in a thread pool: an intrusive, type-erased callable.

#include <cstddef>
#include <new>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include "trident/exec/detail/node_allocator.hpp"
#include "trident/exec/detail/shared_state.hpp"

namespace trident::exec::detail {

/// Queued work. `run` or `discard` is called exactly once, and either frees the node.
class task_node {
 public:
  // Nodes come from the pool's node allocator (see node_allocator.hpp): a sized delete of the
  // most derived type, which `delete this` in the final classes below provides.
  static void* operator new(std::size_t size) { return allocate_node(size); }
  static void operator delete(void* p, std::size_t size) noexcept { deallocate_node(p, size); }
  // Over-aligned results (alignas beyond what new guarantees) bypass the node cache. They are
  // freed with the unsized global delete: the sized one exists only under
  // -fsized-deallocation, which clang leaves off, and this header is public.
  static void* operator new(std::size_t size, std::align_val_t a) { return ::operator new(size, a); }
  static void operator delete(void* p, std::size_t /*size*/, std::align_val_t a) noexcept { ::operator delete(p, a); }

  task_node* next = nullptr;  ///< Link for the pool's injection stack.
  virtual void run() noexcept = 0;
  /// Called instead of `run` when the pool drops queued work (immediate shutdown).
  virtual void discard() noexcept = 0;

 protected:
  ~task_node() = default;
};

/// Reports an exception that escaped fire-and-forget work (`thread_pool::post`), which has no
/// future to carry it. Prints the type and message to stderr; never terminates the process.
void report_unhandled_exception(std::exception_ptr e) noexcept;

/// Fire-and-forget work: no future.
template <class F>
class function_task final : public task_node {
 public:
  explicit function_task(F&& f) : f_(std::move(f)) {}
  explicit function_task(const F& f) : f_(f) {}
  void run() noexcept override {
    try {
      f_();
    } catch (...) {
      report_unhandled_exception(std::current_exception());
    }
    delete this;
  }
  void discard() noexcept override { delete this; }

 private:
  F f_;
};

/// Work with a future: the node and the future's shared state are one allocation. Two
/// references at birth: the queue's and the future's.
template <class R, class F>
class future_task final : public task_node, public shared_state<R> {
 public:
  explicit future_task(F&& f) : shared_state<R>(2), f_(std::move(f)) {}
  void run() noexcept override {
    if (this->try_start()) {
      try {
        if constexpr (std::is_void_v<R>) {
          (*f_)();
        } else {
          this->emplace((*f_)());
        }
        f_.reset();  // the callable's captures die now, not with the last future
        this->finish(status::value);
      } catch (...) {
        f_.reset();
        this->set_error(std::current_exception());
        this->finish(status::exception);
      }
    } else {
      f_.reset();  // cancelled before it started
    }
    this->release();
  }
  void discard() noexcept override {
    this->try_cancel();
    f_.reset();
    this->release();
  }

 private:
  void destroy() noexcept override { delete this; }
  std::optional<F> f_;
};

}  // namespace trident::exec::detail
