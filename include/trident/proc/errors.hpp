#pragma once
/// @file
/// The errors the process layer raises: a task that failed in a worker, a worker that died, a
/// worker that could not start, a damaged worker channel, and a function that was never
/// registered as a task.

#include <string>
#include <utility>

#include "trident/core/errors.hpp"

namespace trident::proc {

/// An exception thrown by a task in a worker process, carried back to the waiter. The original
/// object cannot cross the process boundary, so `type_name()` keeps its demangled type
/// (`std::invalid_argument`, `my::parse_error`) and `what()` its message.
class remote_error : public error {
 public:
  remote_error(std::string type_name, const std::string& message)
      : error(type_name + ": " + message), type_name_(std::move(type_name)), message_(message) {}
  /// Demangled type of the exception the task threw.
  [[nodiscard]] const std::string& type_name() const noexcept { return type_name_; }
  /// The exception's own `what()`, without the type prefix.
  [[nodiscard]] const std::string& message() const noexcept { return message_; }

 private:
  std::string type_name_;
  std::string message_;
};

/// The worker process running a task died (a signal such as SIGSEGV, SIGABRT, SIGKILL, or an
/// unexpected exit) or was killed because the task ran past its timeout. Only that task fails;
/// the pool starts a replacement worker.
class worker_crashed_error : public error {
 public:
  worker_crashed_error(const std::string& message, int pid, int signal, int exit_code)
      : error(message), pid_(pid), signal_(signal), exit_code_(exit_code) {}
  /// PID of the worker that died.
  [[nodiscard]] int pid() const noexcept { return pid_; }
  /// The signal that ended the worker, or 0 if it exited.
  [[nodiscard]] int signal() const noexcept { return signal_; }
  /// The worker's exit status if it exited, or -1 if a signal ended it.
  [[nodiscard]] int exit_code() const noexcept { return exit_code_; }

 private:
  int pid_;
  int signal_;
  int exit_code_;
};

/// A task ran longer than its per-task timeout; its worker was killed and replaced.
class task_timeout_error : public timeout_error {
 public:
  task_timeout_error(const std::string& message, int pid) : timeout_error(message), pid_(pid) {}
  /// PID of the worker that was killed.
  [[nodiscard]] int pid() const noexcept { return pid_; }

 private:
  int pid_;
};

/// A worker process could not be started or did not complete its handshake (most often: the
/// program's `main` does not call `trident::proc::worker_main` first).
class worker_start_error : public error {
 public:
  using error::error;
};

/// Bytes on a worker channel that are not a valid frame (corrupted, truncated, or from a
/// different protocol version). The channel is unusable afterwards; its worker is replaced.
class protocol_error : public error {
 public:
  using error::error;
};

/// A function handed to a process pool or `process` was never registered with `TRIDENT_TASK`,
/// or a worker was asked to run a name it does not know.
class unregistered_task_error : public error {
 public:
  using error::error;
};

}  // namespace trident::proc
