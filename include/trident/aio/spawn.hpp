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
/// in the waiter's own frame (inside its awaiter), so waiting allocates nothing. Only the
/// first two members start initialised: an await of a task that has already ended writes
/// them alone; `waiter_frame` and `next` are set when the waiter links the node.
struct join_node {
  lowlevel::task_context* waiter_context = nullptr;  ///< Null until the waiter suspends (or outside a task).
  bool linked = false;
  void* waiter_frame;  ///< The waiting coroutine (`coroutine_handle::address()`).
  join_node* next;
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
  bool retrieved : 1 = false;  ///< Someone looked at the outcome (await, result, exception).
  /// Spawned with a name: it sits in the 8 bytes before the state, which only named tasks'
  /// states are given (see `spawned_allocation::create`); an unnamed task is "task".
  bool named : 1 = false;
  /// Spawned while tracing was on: its spawn time (`trace_start_ns()`) sits in the 8 bytes
  /// before the name (or before the state, unnamed), which only such states are given.
  bool traced : 1 = false;

 private:
  std::uint32_t refs_ = 1;  // the root coroutine's

 public:
  spawned_base* prev = nullptr;  ///< The loop's list of live tasks.
  spawned_base* next = nullptr;
  join_node* joiners = nullptr;  ///< Newest first.

  /// The root coroutine while the task runs; null once it has finished.
  [[nodiscard]] std::coroutine_handle<> root() const noexcept { return finished ? nullptr : root_; }
  /// The exception the task ended with; null while it runs and when it ended with a value.
  [[nodiscard]] const std::exception_ptr& error() const noexcept { return finished ? error_ : no_error; }
  /// `error()` of a task known to have finished.
  [[nodiscard]] const std::exception_ptr& ended_with() const noexcept { return error_; }

  /// The name given to `spawn`, or "task".
  [[nodiscard]] const char* name() const noexcept {
    if (!named) return "task";
    const char* n = nullptr;
    std::memcpy(&n, reinterpret_cast<const char*>(this) - sizeof n, sizeof n);
    return n;
  }
  /// When a traced task was spawned (`traced` only).
  [[nodiscard]] std::uint64_t trace_start_ns() const noexcept {
    std::uint64_t ns = 0;
    std::memcpy(&ns, reinterpret_cast<const char*>(this) - (named ? 2 : 1) * sizeof ns, sizeof ns);
    return ns;
  }

  /// Starts the task's life with its root coroutine (once, before it first runs).
  void set_root(std::coroutine_handle<> root) noexcept { root_ = root; }

  void add_ref() noexcept { ++refs_; }
  void release() noexcept {
    if (--refs_ == 0) {
      if (error() && !retrieved) report_unretrieved();
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

  /// Called when the root coroutine has ended (its value, if any, stored), with the exception
  /// it ended with, if any. Its last step ran on the task's loop, which is running.
  void finish(std::exception_ptr error) noexcept {
    if (traced) record_trace_span();
    end_life(std::move(error));
    event_loop* loop = event_loop::current();
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
      loop->schedule(std::coroutine_handle<>::from_address(n->waiter_frame), n->waiter_context);
    }
  }

  void add_joiner(join_node& n) noexcept {
    n.next = joiners;
    n.linked = true;
    joiners = &n;
  }
  /// Ends a task whose root coroutine will never finish (its loop is going away): the task is
  /// finished with `error` from here on, and the root coroutine is returned for destruction.
  [[nodiscard]] std::coroutine_handle<> abandon(std::exception_ptr error) noexcept {
    const std::coroutine_handle<> r = root();
    if (!finished) end_life(std::move(error));
    return r;
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
  spawned_base() noexcept : root_() { spawned = true; }
  ~spawned_base() {
    if (finished) error_.~exception_ptr();
  }

 private:
  /// The root handle and the exception share a slot: the one is needed only while the task
  /// runs, the other only once it has finished (`finished` says which is there). A sleeping
  /// task's state is 8 bytes smaller for it.
  union {
    std::coroutine_handle<> root_;
    std::exception_ptr error_;
  };
  static inline const std::exception_ptr no_error{};

  void end_life(std::exception_ptr error) noexcept {
    ::new (static_cast<void*>(&error_)) std::exception_ptr(std::move(error));  // root_ (trivial) ends here
    finished = true;
  }

  /// The task's life, spawn to end, as an asynchronous span: tasks interleave on the loop
  /// thread, so their spans overlap and cannot be complete events on that thread's lane.
  void record_trace_span() const noexcept {
    try {
      trace::record_async(name(), "coroutine", trace_start_ns(), trace::now_ns());
    } catch (...) {
      // Out of memory for the trace buffer: the timeline loses this span, the task goes on.
    }
  }
  void report_unretrieved() const noexcept {
    try {
      std::rethrow_exception(error_);
    } catch (const cancelled_error&) {
      // A cancelled task nobody awaited: that is how cancellation ends, not an error.
    } catch (const std::exception& e) {
      std::fprintf(stderr, "trident: exception in task '%s' was never retrieved: %s\n", name(), e.what());
    } catch (...) {
      std::fprintf(stderr, "trident: exception in task '%s' was never retrieved\n", name());
    }
  }
};

/// Makes and frees the state of a spawned task of type `State` (a `spawned_state`): from the
/// slab, with what only some tasks have in front of it: the name of a named task just before
/// the state, the spawn time of a traced one before that (see `spawned_base::named` and
/// `traced`). An unnamed, untraced task, the common case, pays for neither.
template <class State>
struct spawned_allocation {
  /// `name`: null for an unnamed task.
  static State* create(const char* name, bool traced) {
    const std::size_t prefix = prefix_bytes(name != nullptr, traced);
    if (prefix == 0) return new State();
    char* raw = static_cast<char*>(frame_allocator::allocate(sizeof(State) + prefix));
    auto* s = ::new (raw + prefix) State();
    char* at = raw + prefix;
    if (name != nullptr) {
      s->named = true;
      at -= sizeof name;
      std::memcpy(at, &name, sizeof name);
    }
    if (traced) {
      s->traced = true;
      const std::uint64_t now = trace::now_ns();
      at -= sizeof now;
      std::memcpy(at, &now, sizeof now);
    }
    return s;
  }
  static void destroy(State* s) noexcept {
    const std::size_t prefix = prefix_bytes(s->named, s->traced);
    if (prefix == 0) {
      delete s;
      return;
    }
    s->~State();
    frame_allocator::deallocate(reinterpret_cast<char*>(s) - prefix, sizeof(State) + prefix);
  }

 private:
  /// 8 bytes each for the name and the spawn time, rounded up to keep the state aligned.
  static constexpr std::size_t prefix_bytes(bool named, bool traced) noexcept {
    const std::size_t bytes = (named ? 8 : 0) + (traced ? 8 : 0);
    return (bytes + alignof(State) - 1) / alignof(State) * alignof(State);
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
    std::exception_ptr error = std::move(promise.error_);
    if (!error) {
      try {
        self->value.emplace(promise.take());
      } catch (...) {  // the value's move constructor threw
        error = std::current_exception();
      }
    }
    frame.destroy();
    self->finish(std::move(error));
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
    std::exception_ptr error = std::move(frame.promise().error_);
    frame.destroy();
    self->finish(std::move(error));
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
    if (!s.error()) return false;
    try {
      std::rethrow_exception(s.error());
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
    return s.error();
  }

  /// Awaiter of a handle. `Settle`: wait for the end only, without rethrowing the task's
  /// exception or copying its value (see `wait()`).
  template <bool Settle>
  struct awaiter {
    explicit awaiter(detail::spawned_state<T>* s) noexcept : state(s) {}
    // Never copied: the node's links are set only once it is linked (see join_node).
    awaiter(const awaiter&) = delete;
    awaiter& operator=(const awaiter&) = delete;

    detail::spawned_state<T>* state;
    detail::join_node node;

    /// A waiter destroyed while still waiting (its frame was destroyed) leaves the list.
    ~awaiter() {
      if (node.linked) state->remove_joiner(node);
    }

    bool await_ready() const noexcept { return state->finished; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> h) {
      lowlevel::task_context* waiter_context = lowlevel::context_of(h.promise());
      // A cancellation already pending for the waiter goes to the awaited task now, and the
      // waiter still waits for it to end: a child is never left running behind its parent.
      if (waiter_context != nullptr && waiter_context->cancel_requested) state->cancel();
      node.waiter_frame = h.address();
      node.waiter_context = waiter_context;
      state->add_joiner(node);
      if (waiter_context != nullptr) {
        waiter_context->cancel_hook = &on_cancel;
        waiter_context->hook_arg = this;
      }
      return true;
    }
    auto await_resume() {
      if (lowlevel::task_context* waiter_context = node.waiter_context) {
        waiter_context->cancel_hook = nullptr;
        if (waiter_context->take_cancellation()) throw cancelled_error("cancelled while awaiting another task");
      }
      if constexpr (Settle) {
        return;
      } else {
        if (!state->retrieved) state->retrieved = true;  // no store on the second await
        if (const std::exception_ptr& e = state->ended_with()) std::rethrow_exception(e);
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
  awaiter<false> operator co_await() const { return awaiter<false>(&checked()); }

  /// Waits for the task to end without taking its outcome (inspect `exception()` afterwards).
  /// The same cancellation behaviour as `co_await`.
  awaiter<true> wait() const { return awaiter<true>(&checked()); }

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

/// Starts `t` on `loop` (the next step runs it) and returns its handle. `name` (a string that
/// outlives the task) shows in timelines and messages; without one the task is "task", and
/// its state is 8 bytes smaller. Loop thread only.
template <class T>
task_handle<T> spawn(event_loop& loop, task<T> t, const char* name = nullptr) {
  auto root = t.release();
  if (!root) throw std::logic_error("spawn of a task that has no coroutine (moved from?)");
  if (root.promise().continuation_) throw std::logic_error("spawn of a task that is already running");
  // Tracing off costs this one relaxed load per spawn.
  auto* state = detail::spawned_state<T>::create(name, trace::enabled());
  state->root_done = &detail::spawned_state<T>::take_outcome;
  // The task's own frame is the root: it runs in the state's context, and its final step hands
  // the outcome over (see take_outcome). No extra coroutine per spawned task.
  root.promise().context_ = state;
  state->set_root(root);
  loop.register_task(*state);
  loop.schedule(root, state);
  state->add_ref();  // the handle's
  return task_handle<T>(state);
}

/// Starts `t` on the loop running this thread (Python's `asyncio.create_task`).
template <class T>
task_handle<T> spawn(task<T> t, const char* name = nullptr) {
  return spawn(event_loop::running(), std::move(t), name);
}

}  // namespace trident::aio
