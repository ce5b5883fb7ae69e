#pragma once
/// @file
/// The aio layer's low-level interface (Trio's `trio.lowlevel`): what a library above the event
/// loop — Trident's process and HTTP layers, or a user's own awaitable — builds on. Everything
/// here is public, documented and kept stable; nothing outside aio needs `aio::detail`.
///
/// | piece | header | what it is for |
/// |---|---|---|
/// | `lowlevel::task_context`, `context_of` | lowlevel/task_context.hpp | the running task: its pending cancellation and how to raise it |
/// | `lowlevel::cancellable_wait` | lowlevel/task_context.hpp | the three steps every cancellable awaitable takes (bind, arm, end_wait) |
/// | `event_loop::schedule` | event_loop.hpp | resume a coroutine on a later step (loop thread) |
/// | `lowlevel::remote_endpoint`, `lowlevel::post`, `event_loop::endpoint` | event_loop.hpp | resume from another thread, safely after the loop is gone |
/// | `lowlevel::timer_node`, `event_loop::arm` / `disarm` | lowlevel/timer_node.hpp | a deadline on the loop's (possibly virtual) clock |
/// | `lowlevel::io_handle`, `event_loop::add_io` / `remove_io` | lowlevel/io_handle.hpp | a file descriptor registered with one loop |
/// | `lowlevel::wait_readable`, `wait_writable` | lowlevel/io_wait.hpp | suspend until that descriptor may be ready |
/// | `lowlevel::waitable_queue` | lowlevel/waitable_queue.hpp | `aio::receive` / `aio::send` on another layer's queue (hooks found by ADL) |
/// | `lowlevel::loop_thread` | lowlevel/loop_thread.hpp | an event loop on a thread of its own; calls made there |
/// | `lowlevel::run_on` | lowlevel/run_on.hpp | run a coroutine on another loop and await its result from this one |
///
/// @par A cancellable awaitable, in full
/// @code
///   class until_flag : private aio::lowlevel::cancellable_wait {
///    public:
///     explicit until_flag(my_flag& f) : flag_(f) {}
///     bool await_ready() const noexcept { return flag_.set; }
///     template <class Promise>
///     bool await_suspend(std::coroutine_handle<Promise> h) {
///       if (bind(h)) return false;                  // 1. already cancelled: do not wait
///       flag_.waiter = h;                            //    register where the event finds it
///       arm(&on_cancel, this);                       // 2. cancelling the task calls on_cancel
///       return true;
///     }
///     void await_resume() { end_wait("cancelled while waiting for the flag"); }  // 3.
///
///    private:
///     static void on_cancel(void* self) noexcept {   // loop thread; tolerate a woken waiter
///       auto& me = *static_cast<until_flag*>(self);
///       if (auto h = std::exchange(me.flag_.waiter, nullptr)) aio::event_loop::running().schedule(h);
///     }
///     my_flag& flag_;
///   };
/// @endcode
///
/// @par Thread safety
/// Loop thread only, except `lowlevel::post` and `event_loop::post` / `stop`, which any thread
/// may call, and what `loop_thread` says of itself.
///
/// @par Backends and loops
/// The interface names no reactor. Readiness (`io_handle`) is what epoll gives and what io_uring
/// gives through multishot poll requests, so a completion-based backend implements it as it is;
/// operations that hand buffers to the kernel would come as additions. Each `io_handle` and
/// `timer_node` belongs to the loop it was registered with, and `remote_endpoint` addresses one
/// loop, so several loops per process (one per thread) need no change here either.

#include "trident/aio/event_loop.hpp"
#include "trident/aio/lowlevel/io_handle.hpp"
#include "trident/aio/lowlevel/io_wait.hpp"
#include "trident/aio/lowlevel/loop_thread.hpp"
#include "trident/aio/lowlevel/remote_wait.hpp"
#include "trident/aio/lowlevel/run_on.hpp"
#include "trident/aio/lowlevel/task_context.hpp"
#include "trident/aio/lowlevel/timer_node.hpp"
#include "trident/aio/lowlevel/waitable_queue.hpp"
