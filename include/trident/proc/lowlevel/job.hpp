#pragma once
/// @file
/// Low-level interface: a call on its way to whatever runs it, with the promise its caller's
/// future waits on — `job` and `promised_job<R>` — and how an encoded result becomes the value
/// of that future — `decode_result<R>`. Every carrier of registered tasks completes its futures
/// through these: the process pool (its workers), the cluster layer (MPI ranks), and
/// `submit_encoded` (a result passed on as bytes). Part of `proc/lowlevel.hpp`.
///
/// @par A carrier, in outline
/// @code
///   auto j = std::make_unique<proc::lowlevel::promised_job<int>>(proc::lowlevel::encode_call(fn, 7));
///   future<int> f = j->take_future();             // the caller's
///   carrier.push(std::move(j));                   // a queue of std::unique_ptr<lowlevel::job>
///
///   // the carrier's thread, for each job `q` it takes from that queue:
///   if (!q->claim()) continue;                    // cancelled while queued: drop it
///   ...                                           // send q->payload; the result comes back as bytes
///   q->complete(bytes);                           // or q->fail(error), q->cancel(why)
/// @endcode

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
#include "trident/proc/lowlevel/encoded_call.hpp"

namespace trident::proc::lowlevel {

/// As the result type of `promised_job` and `decode_result`: the result kept as the bytes the
/// task's side sent (a `future<std::string>`), for a carrier that passes it on undecoded.
struct encoded_result {};

/// What a future of a call returning `R` holds: `R`, or the bytes for `encoded_result`.
template <class R>
using result_value_t = std::conditional_t<std::is_same_v<R, encoded_result>, std::string, R>;

/// The value of `bytes`, the encoded result of a call returning `R` (a chunk's result is a
/// `std::vector<R>`). `void`: nothing to decode (a void task sends no bytes); `encoded_result`:
/// the bytes themselves. Throws `protocol_error` for bytes that are no `R`. Thread-safe.
template <class R>
result_value_t<R> decode_result(std::string_view bytes) {
  if constexpr (std::is_void_v<R>) {
    (void)bytes;
  } else if constexpr (std::is_same_v<R, encoded_result>) {
    return std::string(bytes);
  } else {
    return decode<R>(bytes);
  }
}

/// A call on its way, type-erased so that a carrier keeps the jobs of every result type in one
/// queue (`std::unique_ptr<job>`). The carrier owns it from submission until it settles it with
/// `complete`, `fail` or `cancel`; a job destroyed unsettled breaks its promise (the future
/// throws `broken_promise_error`). A carrier that keeps more beside each call derives from it
/// and names its class as `promised_job`'s second argument (the process pool keeps the
/// descriptors and shared memory a payload travels in).
///
/// @par Thread safety
/// The fields are the carrier's: one thread at a time (the carrier hands a job between its
/// threads under its own lock). `claim`, `complete`, `fail` and `cancel` may run on any thread,
/// at the same time as the caller uses the future (its state is synchronised); `complete`,
/// `fail` and `cancel` run the future's continuations on the calling thread, so never call them
/// under a lock a continuation might take.
///
/// @par Cancellation
/// The caller's `future::cancel()` succeeds until the carrier `claim`s the job; after that the
/// call runs to its end. `claim` returns false for a job cancelled first: drop it (settling it
/// as well is harmless). `cancel(why)` is the carrier's own withdrawal (a shutdown): the future
/// throws `cancelled_error` either way.
class job {
 public:
  job() = default;
  /// A job for `call` (its payload moved in).
  explicit job(encoded_call call) noexcept
      : kind(call.kind), payload(std::move(call.payload)), task_name(call.task_name), calls(call.calls) {}
  job(const job&) = delete;
  job& operator=(const job&) = delete;
  virtual ~job() = default;

  call_kind kind = call_kind::one;
  /// The encoded call (encoded_call.hpp's layout); a carrier may move it elsewhere (the process
  /// pool: into a memfd or shared memory, for large arguments).
  std::string payload;
  /// The name the task was registered under: the registry's string, which lives as long as the
  /// program, so that error messages name the task without needing symbols.
  std::string_view task_name;
  std::size_t calls = 1;                ///< 1, or a chunk's length (for statistics).
  std::chrono::nanoseconds timeout{0};  ///< 0: the carrier's default.

  /// Marks the future running, after which the caller can no longer cancel it. False if the
  /// caller cancelled first (then drop the job) or it was claimed already.
  virtual bool claim() noexcept = 0;
  /// Decodes `result` (`decode_result`) and publishes it; a decoding failure fails the future.
  virtual void complete(std::string_view result) noexcept = 0;
  /// Publishes `error` as the future's exception.
  virtual void fail(std::exception_ptr error) noexcept = 0;
  /// Cancels the future if it was never claimed, else fails it with `cancelled_error(why)`.
  virtual void cancel(const char* why) noexcept = 0;
};

/// The job of a call returning `R` (a chunk: `std::vector<R>`; `encoded_result`: the bytes),
/// completing the `future<result_value_t<R>>` that `take_future` gives. `Base` is `job`, or a
/// carrier's class derived from it; the constructors are `Base`'s. Settling twice is harmless:
/// the first settlement stands. Thread safety and cancellation: as `job`.
template <class R, class Base = job>
class promised_job final : public Base {
  static_assert(std::is_base_of_v<job, Base>, "promised_job: Base must derive from proc::lowlevel::job");

 public:
  using value_type = result_value_t<R>;
  using Base::Base;

  /// The caller's future; once only (again: `future_error`).
  exec::future<value_type> take_future() { return promise_.get_future(); }

  bool claim() noexcept override { return promise_.try_start(); }

  void complete(std::string_view result) noexcept override {
    try {
      if constexpr (std::is_void_v<value_type>) {
        promise_.set_value();
      } else {
        promise_.set_value(decode_result<R>(result));
      }
    } catch (...) {
      fail(std::current_exception());
    }
  }

  void fail(std::exception_ptr error) noexcept override {
    try {
      promise_.set_exception(std::move(error));
    } catch (...) {  // settled already: the first settlement stands
    }
  }

  void cancel(const char* why) noexcept override {
    if (promise_.try_cancel()) return;
    try {
      fail(std::make_exception_ptr(cancelled_error(why)));
    } catch (...) {  // no memory for the exception: the future breaks when the job is destroyed
    }
  }

 private:
  exec::promise<value_type> promise_;
};

}  // namespace trident::proc::lowlevel
