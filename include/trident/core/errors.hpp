#pragma once
/// @file
/// The error types that every Trident layer throws, so that a caller can catch the same
/// `cancelled_error` whether a thread-pool future, a coroutine or a worker process was cancelled.

#include <stdexcept>
#include <string>

namespace trident {

/// Base of every error Trident itself raises. Errors thrown by user code pass through futures
/// and tasks unchanged (type and message intact); they do not derive from this.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The operation was cancelled before it produced a result (Python's `CancelledError`).
class cancelled_error : public error {
 public:
  cancelled_error() : error("operation was cancelled") {}
  using error::error;
};

/// A deadline passed before the operation finished (Python's `TimeoutError`).
class timeout_error : public error {
 public:
  timeout_error() : error("operation timed out") {}
  using error::error;
};

/// Work was handed to an executor that has been shut down (Python's
/// `RuntimeError: cannot schedule new futures after shutdown`).
class shutdown_error : public error {
 public:
  using error::error;
};

/// A future was used in a way its protocol forbids: `get()` twice, or waiting on a future that
/// has no shared state (default-constructed or moved from).
class future_error : public error {
 public:
  using error::error;
};

/// The producer side of a future was destroyed without ever setting a result.
class broken_promise_error : public future_error {
 public:
  broken_promise_error() : future_error("promise destroyed before it set a result") {}
};

/// `send` on a channel that was closed; the value was not delivered.
class channel_closed_error : public error {
 public:
  channel_closed_error() : error("channel is closed") {}
  using error::error;
};

}  // namespace trident
