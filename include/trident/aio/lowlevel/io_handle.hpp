#pragma once
/// @file
/// Low-level interface: a file descriptor registered with a loop, and who waits on it. Part of
/// `aio/lowlevel.hpp`.

#include <coroutine>

namespace trident::aio {

class event_loop;

namespace lowlevel {

/// A file descriptor registered with one loop (`event_loop::add_io`, edge-triggered), and the
/// coroutines waiting for it. Owned by the I/O object (a stream, a listener, a driver such as
/// the HTTP session's), which keeps it alive while registered. Loop thread only.
///
/// Readiness, not completion: a waiter is resumed when the fd *may* be ready, and then does the
/// system call itself. A completion-based backend (io_uring) implements exactly this contract
/// with multishot poll requests, so nothing here assumes epoll; operations that hand buffers to
/// the kernel would be additions beside it, not changes to it.
///
/// Contract: set `fd` (and optionally a standing `reader`, see below), then `add_io`; wait with
/// `wait_readable` / `wait_writable` (io_wait.hpp); `remove_io` before closing the fd or
/// destroying the handle. The loop resumes `reader` / `writer` (clearing the slot) on an edge,
/// or records the edge in `read_edge` / `write_edge` when nobody waits, so it is never missed.
/// A driver that wants every edge (a standing watcher) re-installs its coroutine in `reader`
/// each time it runs.
struct io_handle {
  int fd = -1;
  event_loop* loop = nullptr;      ///< Set by `add_io`: the loop this fd is registered with.
  std::coroutine_handle<> reader;  ///< Resumed when the fd becomes readable (or fails).
  std::coroutine_handle<> writer;  ///< Resumed when the fd becomes writable (or fails).
  /// An edge arrived with nobody waiting for it: the next wait in that direction returns at
  /// once (and clears the flag) instead of missing the edge.
  bool read_edge = false;
  bool write_edge = false;
  /// The peer hung up or the socket failed: a read finds the end or the error without waiting.
  bool hangup = false;
  /// The loop's: what its backend keeps for this registration (the io_uring backend's poll
  /// request). Null while not registered.
  void* backend_data = nullptr;
};

}  // namespace lowlevel

}  // namespace trident::aio
