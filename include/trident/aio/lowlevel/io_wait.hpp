#pragma once
/// @file
/// Low-level interface: the awaitable every socket operation suspends on, "until this fd is
/// readable / writable". Part of `aio/lowlevel.hpp`.

#include <coroutine>
#include <utility>

#include "trident/aio/event_loop.hpp"
#include "trident/aio/task.hpp"
#include "trident/core/errors.hpp"

namespace trident::aio::lowlevel {

/// Suspends until `io` reports readiness for reading (`for_write` false) or writing — or
/// returns at once if an edge in that direction arrived since the last wait (consuming it).
/// Callers wait only after the syscall said EAGAIN or after a short read, so an edge consumed
/// here costs at most one syscall that finds nothing. A cancellation point: cancelling the
/// task unhooks it and raises `cancelled_error`; no data has been consumed at that point.
/// Assumes `io` is registered with the running loop.
class io_wait : private cancellable_wait {
 public:
  io_wait(io_handle& io, bool for_write) noexcept : io_(io), for_write_(for_write) {}

  bool await_ready() const noexcept { return false; }

  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    if (bind(h)) return false;
    if (bool& edge = for_write_ ? io_.write_edge : io_.read_edge; edge) {
      edge = false;
      return false;
    }
    loop_ = io_.loop;
    waiter_ = h;
    slot() = h;
    arm(&on_cancel, this);
    return true;
  }

  void await_resume() { end_wait("cancelled while waiting for a socket"); }

 private:
  std::coroutine_handle<>& slot() noexcept { return for_write_ ? io_.writer : io_.reader; }

  static void on_cancel(void* arg) noexcept {
    auto* self = static_cast<io_wait*>(arg);
    if (self->slot() == self->waiter_) {
      self->slot() = nullptr;
      self->loop_->schedule(self->waiter_, self->context_);
    }
  }

  io_handle& io_;
  bool for_write_;
  event_loop* loop_ = nullptr;
  std::coroutine_handle<> waiter_;
};

/// Waits until `io` may be readable; see `io_wait`.
[[nodiscard]] inline io_wait wait_readable(io_handle& io) noexcept { return io_wait(io, false); }

/// Waits until `io` may be writable; see `io_wait`.
[[nodiscard]] inline io_wait wait_writable(io_handle& io) noexcept { return io_wait(io, true); }

}  // namespace trident::aio::lowlevel
