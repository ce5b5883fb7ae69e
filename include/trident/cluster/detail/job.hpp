#pragma once
/// @file
/// One task on its way to a rank, with the promise it completes. Internal.

#include <chrono>
#include <cstddef>
#include <exception>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "trident/core/errors.hpp"
#include "trident/exec/future.hpp"
#include "trident/proc/codec.hpp"
#include "trident/proc/lowlevel.hpp"

namespace trident::cluster::detail {

/// Type-erased job. The driver's communication thread owns it from submission until it
/// completes or fails.
class job {
 public:
  job() = default;
  job(const job&) = delete;
  job& operator=(const job&) = delete;
  virtual ~job() = default;

  proc::lowlevel::call_kind kind = proc::lowlevel::call_kind::one;
  std::string payload;           ///< The encoded call (task name and arguments).
  std::string_view task_name;    ///< The registry's string: lives as long as the program.
  std::chrono::milliseconds timeout{0};
  std::size_t items = 1;         ///< Calls in the job (a chunk's length), for the statistics.

  /// Marks the future running; false if the consumer cancelled it (then drop the job).
  virtual bool claim() noexcept = 0;
  /// Decodes the rank's encoded result and publishes it (a decoding failure becomes the error).
  virtual void complete(std::string_view result) noexcept = 0;
  virtual void fail(std::exception_ptr error) noexcept = 0;
  /// Cancels the future if it never started, else fails it with `cancelled_error(why)`.
  virtual void cancel(const char* why) noexcept = 0;
};

template <class R>
class typed_job final : public job {
 public:
  explicit typed_job(proc::lowlevel::encoded_call call) {
    kind = call.kind;
    payload = std::move(call.payload);
    task_name = call.task_name;
  }
  future<R> take_future() { return promise_.get_future(); }
  bool claim() noexcept override { return promise_.try_start(); }
  void complete(std::string_view result) noexcept override {
    try {
      if constexpr (std::is_void_v<R>) {
        promise_.set_value();
      } else {
        promise_.set_value(proc::decode<R>(result));
      }
    } catch (...) {
      fail(std::current_exception());
    }
  }
  void fail(std::exception_ptr error) noexcept override {
    try {
      promise_.set_exception(std::move(error));
    } catch (...) {  // already satisfied
    }
  }
  void cancel(const char* why) noexcept override {
    if (promise_.try_cancel()) return;
    try {
      fail(std::make_exception_ptr(cancelled_error(why)));
    } catch (...) {
    }
  }

 private:
  promise<R> promise_;
};

}  // namespace trident::cluster::detail
