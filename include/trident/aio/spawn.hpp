#pragma once
/// @file
/// `aio::spawn`: start a task running on the loop concurrently with its caller (Python's
/// `asyncio.create_task`), and `task_handle<T>` to await, cancel or inspect it.

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "trident/aio/event_loop.hpp"
#include "trident/aio/task.hpp"
#include "trident/core/errors.hpp"
#include "trident/trace/recorder.hpp"

namespace trident::aio {

namespace detail {

/// A coroutine waiting for a spawned task to end: a link in the task's list of joiners, kept
/// in the waiter's own frame (inside its awaiter), so waiting allocates nothing.
struct join_node {
  std::coroutine_handle<> waiter;
  const lowlevel::task_context* waiter_context = nullptr;
  join_node* next = nullptr;
  bool linked = false;
};

/// The state of a spawned task, shared by its root coroutine and its handles; it is also the
/// task's context (every coroutine of the task points to it). Loop thread only. Counted
/// references: one for the running root coroutine, one per handle.
class spawned_base : public lowlevel::task_context {
 public:
  static void* operator new(std::size_t size) { return frame_allocator::allocate(size); }
  static void operator delete(void* state, std::size_t size) noexcept { frame_allocator::deallocate(state, size); }

  // The flags and the count come first: they fill the padding at the end of task_context.
  bool finished = false;
  bool retrieved = false;  ///< Someone looked at the outcome (await, result, exception).
  /// Spawned while tracing was on: its spawn time (`trace_start_ns()`) sits in the 16 bytes
  /// before the state, which only such states are given (see `spawned_allocation::create`).
  bool traced = false;

 private:
  std::uint32_t refs_ = 1;  // the root coroutine's

 public:
  spawned_base* prev = nullptr;  ///< The loop's list of live tasks.
  spawned_base* next = nullptr;
  std::exception_ptr error;
  join_node* joiners = nullptr;  ///< Newest first.
  std::coroutine_handle<> root;  ///< The root coroutine until it finishes.

  /// Bytes before a traced state, holding its spawn time.
  static constexpr std::size_t trace_prefix = 16;
  /// When a traced task was spawned (`traced` only).
  [[nodiscard]] std::uint64_t trace_start_ns() const noexcept {
    std::uint64_t ns = 0;
    std::memcpy(&ns, reinterpret_cast<const char*>(this) - trace_prefix, sizeof ns);
    return ns;
  }

  void add_ref() noexcept { ++refs_; }
  void release() noexcept {
    if (--refs_ == 0) {
      if (error && !retrieved) report_unretrieved();
      root_done(this, nullptr);  // frees the state (see spawned_state::take_outcome)
    }
  }

  /// Requests cancellation: raises `cancelled_error` at the task's current or next suspension
  /// point. Returns false if the task already finished.
  bool cancel() noexcept {
    if (finished) return false;
    request_cancel();
    return true;
  }

  /// The state that is this context. Assumes `c` is a spawned task's context.
  static spawned_base* from_context(lowlevel::task_context* c) noexcept { return static_cast<spawned_base*>(c); }

  /// Called when the root coroutine has ended and its outcome is stored.
  void finish() noexcept {
    if (traced) record_trace_span();
    finished = true;
    root = nullptr;
    loop->unregister_task(*this);
    // Oldest first, as they came.
    join_node* oldest_first = nullptr;
    while (join_node* n = joiners) {
      joiners = n->next;
      n->next = oldest_first;
      oldest_first = n;
    }
    while (join_node* n = oldest_first) {
      oldest_first = n->next;
      n->linked = false;
      loop->schedule(n->waiter, n->waiter_context);
    }
  }

  void add_joiner(join_node& n) noexcept {
    n.next = joiners;
    n.linked = true;
    joiners = &n;
  }
  /// For a waiter whose frame goes away while it waits (a destroyed generator body, say).
  void remove_joiner(join_node& n) noexcept {
    for (join_node** at = &joiners; *at != nullptr; at = &(*at)->next) {
      if (*at == &n) {
        *at = n.next;
        break;
      }
    }
    n.linked = false;
  }

 protected:
  spawned_base() = default;
  ~spawned_base() = default;

 private:
  /// The task's life, spawn to end, as an asynchronous span: tasks interleave on the loop
  /// thread, so their spans overlap and cannot be complete events on that thread's lane.
  void record_trace_span() const noexcept {
    try {
      trace::record_async(name, "coroutine", trace_start_ns(), trace::now_ns());
    } catch (...) {
      // Out of memory for the trace buffer: the timeline loses this span, the task goes on.
    }
  }
  void report_unretrieved() const noexcept {
    try {
      std::rethrow_exception(error);
    } catch (const cancelled_error&) {
      // A cancelled task nobody awaited: that is how cancellation ends, not an error.
    } catch (const std::exception& e) {
      std::fprintf(stderr, "trident: exception in task '%s' was never retrieved: %s\n", name, e.what());
    } catch (...) {
      std::fprintf(stderr, "trident: exception in task '%s' was never retrieved\n", name);
    }
  }
};

/// Makes and frees the state of a spawned task of type `State` (a `spawned_state`): from the
/// slab, with the spawn time in the `spawned_base::trace_prefix` bytes in front of it when the
/// task is traced (see `spawned_base::traced`).
template <class State>
struct spawned_allocation {
  static State* create(bool traced) {
    if (!traced) return new State();
    void* raw = frame_allocator::allocate(sizeof(State) + spawned_base::trace_prefix);
    auto* s = ::new (static_cast<char*>(raw) + spawned_base::trace_prefix) State();
    s->traced = true;
    const std::uint64_t now = trace::now_ns();
    std::memcpy(raw, &now, sizeof now);
    return s;
  }
  static void destroy(State* s) noexcept {
    if (!s->traced) {
      delete s;
      return;
    }
    void* raw = reinterpret_cast<char*>(s) - spawned_base::trace_prefix;
    s->~State();
    frame_allocator::deallocate(raw, sizeof(State) + spawned_base::trace_prefix);
  }
};

template <class T>
class spawned_state final : public spawned_base, public spawned_allocation<spawned_state<T>> {
 public:
  std::optional<T> value;

  /// `root_done` of a spawned `task<T>`: keeps the outcome, frees the frame, wakes
  /// the joiners and drops the root's reference. With a null `root`: frees the state.
  static void take_outcome(lowlevel::task_context* context, std::coroutine_handle<> root) noexcept {
    auto* self = static_cast<spawned_state*>(from_context(context));
    if (!root) {
      spawned_state::destroy(self);
      return;
    }
    auto frame = std::coroutine_handle<typename task<T>::promise_type>::from_address(root.address());
    auto& promise = frame.promise();
    if (promise.error_) {
      self->error = std::move(promise.error_);
    } else {
      try {
        self->value.emplace(promise.take());
      } catch (...) {  // the value's move constructor threw
        self->error = std::current_exception();
      }
    }
    frame.destroy();
    self->finish();
    self->release();
  }
};

template <>
class spawned_state<void> final : public spawned_base, public spawned_allocation<spawned_state<void>> {
 public:
  static void take_outcome(lowlevel::task_context* context, std::coroutine_handle<> root) noexcept {
    auto* self = static_cast<spawned_state*>(from_context(context));
    if (!root) {
      destroy(self);
      return;
    }
    auto frame = std::coroutine_handle<task<void>::promise_type>::from_address(root.address());
    if (frame.promise().error_) self->error = std::move(frame.promise().error_);
    frame.destroy();
    self->finish();
    self->release();
  }
};

}  // namespace detail

/// A spawned task: await it for its result, cancel it, or ask whether it is done.
///
/// Dropping every handle does not stop the task; the loop keeps it running (and cancels it at
/// shutdown, after `main` has returned). So a spawned task must not use objects that die
/// before it ends — the locals of the coroutine that spawned it, in particular: await its
/// handle, or use `with_task_group`, which waits for its tasks before the scope ends. An exception that nobody retrieved is reported on stderr when the last handle
/// goes, as asyncio's "Task exception was never retrieved".
///
/// @par Cancellation
/// `cancel()` raises `cancelled_error` inside the task at its current suspension point (or its
/// next one, if it is running or queued); a task cancelled before it started never runs.
/// A task that awaits this handle and is itself cancelled cancels this task too (as awaiting an
/// asyncio Task does). Awaiting the handle of a cancelled task throws `cancelled_error`.
///
/// @par Thread safety
/// Loop thread only.
template <class T>
class task_handle {
 public:
  task_handle() noexcept = default;
  explicit task_handle(detail::spawned_state<T>* s) noexcept : state_(s) {}
  task_handle(const task_handle& o) noexcept : state_(o.state_) {
    if (state_) state_->add_ref();
  }
  task_handle(task_handle&& o) noexcept : state_(std::exchange(o.state_, nullptr)) {}
  task_handle& operator=(task_handle o) noexcept {
    std::swap(state_, o.state_);
    return *this;
  }
  ~task_handle() {
    if (state_) state_->release();
  }

  [[nodiscard]] bool valid() const noexcept { return state_ != nullptr; }
  [[nodiscard]] bool done() const { return checked().finished; }
  bool cancel() { return checked().cancel(); }
  /// Whether the task ended by cancellation.
  [[nodiscard]] bool cancelled() const {
    auto& s = checked();
    if (!s.finished || !s.error) return false;
    try {
      std::rethrow_exception(s.error);
    } catch (const cancelled_error&) {
      return true;
    } catch (...) {
      return false;
    }
  }
  /// The exception the task ended with, or nullptr (also while it runs).
  [[nodiscard]] std::exception_ptr exception() const {
    auto& s = checked();
    s.retrieved = true;
    return s.finished ? s.error : nullptr;
  }

  /// Awaiter of a handle. `Settle`: wait for the end only, without rethrowing the task's
  /// exception or copying its value (see `wait()`).
  template <bool Settle>
  struct awaiter {
    detail::spawned_state<T>* state;
    lowlevel::task_context* waiter_context = nullptr;
    detail::join_node node{};

    /// A waiter destroyed while still waiting (its frame was destroyed) leaves the list.
    ~awaiter() {
      if (node.linked) state->remove_joiner(node);
    }

    bool await_ready() const noexcept { return state->finished; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> h) {
      waiter_context = lowlevel::context_of(h.promise());
      // A cancellation already pending for the waiter goes to the awaited task now, and the
      // waiter still waits for it to end: a child is never left running behind its parent.
      if (waiter_context != nullptr && waiter_context->cancel_requested) state->cancel();
      node.waiter = h;
      node.waiter_context = waiter_context;
      state->add_joiner(node);
      if (waiter_context != nullptr) {
        waiter_context->cancel_hook = &on_cancel;
        waiter_context->hook_arg = this;
      }
      return true;
    }
    auto await_resume() {
      if (waiter_context != nullptr) {
        waiter_context->cancel_hook = nullptr;
        if (waiter_context->take_cancellation()) throw cancelled_error("cancelled while awaiting another task");
      }
      if constexpr (Settle) {
        return;
      } else {
        state->retrieved = true;
        if (state->error) std::rethrow_exception(state->error);
        if constexpr (std::is_copy_constructible_v<T>) {
          return T(*state->value);
        } else if constexpr (!std::is_void_v<T>) {
          // A move-only result can be taken once.
          if (!state->value) throw std::logic_error("the task's move-only result was already taken");
          T v = std::move(*state->value);
          state->value.reset();
          return v;
        }
      }
    }
    /// The awaiting task was cancelled: cancel the awaited one (as awaiting an asyncio Task
    /// does). The waiter resumes when it ends, then raises `cancelled_error`.
    static void on_cancel(void* arg) noexcept { static_cast<awaiter*>(arg)->state->cancel(); }
  };

  /// Waits for the task and returns its value, or rethrows its exception. Copyable values are
  /// copied (several handles may await one task); a move-only value is moved out, once.
  ///
  /// @par Cancellation
  /// A cancellation point: if the awaiting task is cancelled, this task is cancelled too, and
  /// `cancelled_error` is raised in the awaiting task once this one has ended.
  awaiter<false> operator co_await() const { return awaiter<false>{&checked()}; }

  /// Waits for the task to end without taking its outcome (inspect `exception()` afterwards).
  /// The same cancellation behaviour as `co_await`.
  awaiter<true> wait() const { return awaiter<true>{&checked()}; }

  /// The value of a finished task without an exception. Assumes `done()`.
  [[nodiscard]] const std::optional<T>& value_slot() const
    requires(!std::is_void_v<T>)
  {
    return checked().value;
  }

  /// For Trident's runtime.
  [[nodiscard]] detail::spawned_state<T>* state() const noexcept { return state_; }

 private:
  detail::spawned_state<T>& checked() const {
    if (state_ == nullptr) throw std::logic_error("task_handle has no task (default-constructed or moved from)");
    return *state_;
  }
  detail::spawned_state<T>* state_ = nullptr;
};

/// Starts `t` on `loop` (the next step runs it) and returns its handle. Loop thread only.
template <class T>
task_handle<T> spawn(event_loop& loop, task<T> t, const char* name = "task") {
  auto root = t.release();
  if (!root) throw std::logic_error("spawn of a task that has no coroutine (moved from?)");
  if (root.promise().continuation_) throw std::logic_error("spawn of a task that is already running");
  // Tracing off costs this one relaxed load per spawn.
  auto* state = detail::spawned_state<T>::create(trace::enabled());
  state->loop = &loop;
  state->name = name;
  state->root_done = &detail::spawned_state<T>::take_outcome;
  // The task's own frame is the root: it runs in the state's context, and its final step hands
  // the outcome over (see take_outcome). No extra coroutine per spawned task.
  root.promise().context_ = state;
  state->root = root;
  loop.register_task(*state);
  loop.schedule(root, state);
  state->add_ref();  // the handle's
  return task_handle<T>(state);
}

/// Starts `t` on the loop running this thread (Python's `asyncio.create_task`).
template <class T>
task_handle<T> spawn(task<T> t, const char* name = "task") {
  return spawn(event_loop::running(), std::move(t), name);
}

}  // namespace trident::aio
