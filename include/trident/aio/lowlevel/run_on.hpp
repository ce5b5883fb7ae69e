#pragma once
/// @file
/// Low-level interface: `lowlevel::run_on`, which runs a coroutine on another event loop — on
/// another thread — and awaits its result from the calling loop (asyncio's
/// `run_coroutine_threadsafe` wrapped for an awaiting task). Part of `aio/lowlevel.hpp`; an HTTP
/// session with several loops sends its requests to its `loop_thread`s this way.
///
/// How it goes (caller loop C, target loop L):
///  1. The awaiting task suspends and posts "spawn the body" to L.
///  2. L calls the factory, runs the task it returns as a task of its own, stores its value or
///     exception, and posts "resume the waiter" to C: the outcome is written before the post,
///     and the post's lock orders it before C reads it.
///  3. Cancelling the awaiting task posts "cancel the body" to L and does not resume it yet. Posts
///     to one loop run in order, so the cancel always finds the body spawned.

#include <concepts>
#include <coroutine>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "trident/aio/event_loop.hpp"
#include "trident/aio/lowlevel/loop_thread.hpp"
#include "trident/aio/lowlevel/remote_wait.hpp"
#include "trident/aio/lowlevel/task_context.hpp"
#include "trident/aio/spawn.hpp"
#include "trident/aio/task.hpp"
#include "trident/core/errors.hpp"

namespace trident::aio {

namespace detail {

template <class T>
struct is_task : std::false_type {};
template <class T>
struct is_task<task<T>> : std::true_type {};

/// One `run_on`: what goes to the target loop and what comes back. The caller's side writes
/// `wait` and `caller` before the post that sends it; the target writes `value` or `error`
/// before the post that answers; `make` and `running` are the target's alone once sent.
template <class T, class Factory>
struct remote_run {
  using result_type = T;
  using stored = std::conditional_t<std::is_void_v<T>, bool, T>;

  remote_run(Factory f, const char* n) : make(std::move(f)), name(n) {}

  std::optional<Factory> make;  // called and destroyed on the target
  const char* name;
  std::optional<stored> value;
  std::exception_ptr error;
  std::shared_ptr<lowlevel::remote_wait_state> wait;
  std::shared_ptr<lowlevel::remote_endpoint> caller;
  std::optional<task_handle<void>> running;  // the body's task, until it ends
};

/// The body as a task of the target loop. `reply`'s destructor answers the caller whichever
/// way the frame ends: run to its end, or destroyed unfinished by the target loop's destructor.
template <class Run>
task<void> run_remote(std::shared_ptr<Run> call) {
  struct reply {
    Run& call;
    explicit reply(Run& c) noexcept : call(c) {}
    reply(const reply&) = delete;
    reply& operator=(const reply&) = delete;
    ~reply() {
      call.make.reset();     // the factory's captures die on the thread that ran them
      call.running.reset();  // a task handle belongs to its loop's thread
      if (!call.value && !call.error) {
        call.error = std::make_exception_ptr(cancelled_error("run_on: the target loop ended before the body did"));
      }
      lowlevel::post_resume(*call.caller, call.wait);
    }
  } answer{*call};
  try {
    auto body = (*call->make)();
    if constexpr (std::is_void_v<typename Run::result_type>) {
      co_await std::move(body);
      call->value.emplace(true);
    } else {
      call->value.emplace(co_await std::move(body));
    }
  } catch (...) {
    call->error = std::current_exception();
  }
}

/// The post that spawns the body. Held by the posted callback (and its copies): if the target
/// loop has ended, the callback is dropped unrun and the destructor answers the caller.
template <class Run>
struct dispatch {
  std::shared_ptr<Run> call;
  bool ran = false;

  explicit dispatch(std::shared_ptr<Run> c) noexcept : call(std::move(c)) {}
  dispatch(const dispatch&) = delete;
  dispatch& operator=(const dispatch&) = delete;
  ~dispatch() {
    if (ran) return;
    call->make.reset();
    call->error = std::make_exception_ptr(cancelled_error("run_on: the target loop ended before the body started"));
    lowlevel::post_resume(*call->caller, call->wait);
  }

  /// Target loop thread.
  void start() {
    auto body = spawn(run_remote(call), call->name);
    ran = true;
    call->running.emplace(std::move(body));
  }
};

}  // namespace detail

namespace lowlevel {

/// The awaitable `run_on` returns; await it once, from a task.
template <class T, class Factory>
class [[nodiscard]] run_on_awaiter : private cancellable_wait {
  using run_type = detail::remote_run<T, Factory>;

 public:
  run_on_awaiter(std::shared_ptr<remote_endpoint> target, Factory make, const char* name)
      : target_(std::move(target)), call_(std::make_shared<run_type>(std::move(make), name)) {}

  bool await_ready() const noexcept { return false; }

  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    if (bind(h)) return false;  // cancelled before it started: nothing runs, await_resume throws
    auto& loop = event_loop::running();
    call_->wait = std::make_shared<remote_wait_state>();
    call_->wait->waiter = h;
    call_->wait->loop = &loop;
    call_->wait->context = context_;
    call_->caller = loop.endpoint();
    auto start = std::make_shared<detail::dispatch<run_type>>(call_);
    try {
      post(*target_, [start] { start->start(); });
    } catch (...) {  // nothing was sent: the exception resumes the task, and nothing else may
      start->ran = true;
      call_->wait->waiter = nullptr;
      throw;
    }
    arm(&on_cancel, this);
    return true;
  }

  T await_resume() {
    end_wait("cancelled while waiting for a task on another loop");
    if (call_->error) std::rethrow_exception(call_->error);
    if constexpr (!std::is_void_v<T>) return std::move(*call_->value);
  }

 private:
  static void on_cancel(void* self) noexcept {
    auto& me = *static_cast<run_on_awaiter*>(self);
    try {
      post(*me.target_, [call = me.call_] {
        if (call->running) call->running->cancel();
      });
    } catch (...) {
      std::terminate();  // a lost cancel would leave the body running to its end unseen
    }
  }

  std::shared_ptr<remote_endpoint> target_;
  std::shared_ptr<run_type> call_;
};

/// Runs the task `make()` returns on the loop behind `target` — usually a `loop_thread`'s, on
/// another thread — and resumes the awaiting task, on its own loop, with that task's value or
/// exception. The calling loop runs its other tasks meanwhile. `name` names the body's task in
/// traces and debug reports.
///
/// @code
///   aio::lowlevel::loop_thread io("io loop");
///   auto fetch = [&cache, key] { return cache.load(key); };  // returns aio::task<blob>
///   auto load = aio::lowlevel::run_on(io, fetch);              // named: see docs/aio.md, g++ 12
///   blob b = co_await load;
/// @endcode
///
/// @par Thread safety
/// Await from a task on any loop; the target may be that same loop. `make` is called once on
/// the target's thread and destroyed there after the body ends (one never sent, or dropped by a
/// target that has ended, is destroyed where that happens): it and the body may touch the
/// target's state and none of the caller's unless that is thread safe. The value or exception
/// crosses back to the caller's thread; nothing else is shared.
///
/// @par Cancellation
/// A cancellation point. Cancelling the awaiting task cancels the body on the target and waits
/// for it to end, so its cleanup is done before the awaiting task goes on; then it raises
/// `cancelled_error` (a value the body still returned is dropped). Cancelled before the first
/// suspension, nothing is sent to the target.
///
/// @par When the target loop stops
/// A body still running is cancelled by the target's Shutdown (event_loop.hpp): the awaiting
/// task gets the body's `cancelled_error`. A body that never started, because the target had
/// already ended, raises `cancelled_error` as well. Either way the awaiting task is resumed,
/// unless its own loop has ended too.
template <class Factory, class T = typename std::invoke_result_t<Factory&>::value_type>
  requires std::invocable<Factory&> && detail::is_task<std::invoke_result_t<Factory&>>::value
run_on_awaiter<T, Factory> run_on(std::shared_ptr<remote_endpoint> target, Factory make, const char* name = "run_on") {
  return run_on_awaiter<T, Factory>(std::move(target), std::move(make), name);
}

/// `run_on(target.endpoint(), make, name)`: runs the body on `target`'s thread.
template <class Factory, class T = typename std::invoke_result_t<Factory&>::value_type>
  requires std::invocable<Factory&> && detail::is_task<std::invoke_result_t<Factory&>>::value
run_on_awaiter<T, Factory> run_on(loop_thread& target, Factory make, const char* name = "run_on") {
  return run_on_awaiter<T, Factory>(target.endpoint(), std::move(make), name);
}

}  // namespace lowlevel

}  // namespace trident::aio
