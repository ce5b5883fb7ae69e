#pragma once
/// @file
/// Low-level interface: `lowlevel::loop_thread`, an event loop running on a thread of its own
/// until it is destroyed — where `lowlevel::run_on` (run_on.hpp) sends coroutines to run, and
/// where a library keeps per-loop state made and destroyed on that thread (`call`). Part of
/// `aio/lowlevel.hpp`; the HTTP layer's sessions with `loops` > 1 run on such threads.

#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

#include "trident/aio/event_loop.hpp"

namespace trident::aio::lowlevel {

/// A thread that runs a new `event_loop` from the constructor to the destructor, serving what
/// other threads send it: coroutines (`run_on`) and plain calls (`call`). It runs nothing of
/// its own.
///
/// @code
///   aio::lowlevel::loop_thread worker("parser loop");
///   auto parse = [&] { return parse_all(buffer); };  // called on worker's thread
///   auto call = aio::lowlevel::run_on(worker, parse);
///   result r = co_await call;                          // on the caller's loop
/// @endcode
///
/// @par Thread safety
/// `endpoint`, `id` and `call` may be used from any thread while the object lives (`call` not
/// from its own thread); the constructor and the destructor belong to one owner, which must not
/// destroy it while another thread still uses it. The thread's tasks and the state `call` makes
/// there are the thread's: touch them only from code that runs on it.
///
/// @par Shutdown
/// The destructor stops the loop as event_loop.hpp's Shutdown says: every task still alive on
/// it — `run_on` bodies included — is cancelled and run until it ends, so its cleanup runs on
/// its own thread and its awaiter, on another loop, is resumed with `cancelled_error`; then the
/// thread is joined. What is posted after that is dropped (`run_on` reports it to its awaiter as
/// `cancelled_error`). The destructor blocks until then: do not destroy a loop_thread from a
/// task running on it.
class loop_thread {
 public:
  /// Starts the thread, named `name` in traces, and returns once its loop runs. Rethrows what
  /// kept the loop from starting (std::system_error, std::invalid_argument: see `event_loop`).
  explicit loop_thread(std::string name = "aio loop", loop_options options = {});
  loop_thread(const loop_thread&) = delete;
  loop_thread& operator=(const loop_thread&) = delete;
  /// Stops the loop (Shutdown above) and joins the thread.
  ~loop_thread();

  /// Where other threads post to this loop (`lowlevel::post`, `run_on`). Thread safe.
  [[nodiscard]] const std::shared_ptr<remote_endpoint>& endpoint() const noexcept { return endpoint_; }

  /// The thread running the loop. Thread safe.
  [[nodiscard]] std::thread::id id() const noexcept { return thread_.get_id(); }

  /// Calls `fn()` on the loop thread, as a callback between two steps of its loop, and blocks
  /// the calling thread until it returns; returns its value or rethrows its exception. For
  /// state that must be made and destroyed on the loop's thread (what registers with the
  /// loop). Blocks: from a task on another loop it stalls that loop for the time of the call.
  /// Throws std::logic_error when called on the loop's own thread (it would wait for itself).
  template <class F>
  std::invoke_result_t<F&> call(F fn) {
    using R = std::invoke_result_t<F&>;
    std::exception_ptr error;
    std::optional<std::conditional_t<std::is_void_v<R>, bool, R>> value;
    call_and_wait([&] {
      try {
        if constexpr (std::is_void_v<R>) {
          fn();
          value.emplace(true);
        } else {
          value.emplace(fn());
        }
      } catch (...) {
        error = std::current_exception();
      }
    });
    if (error) std::rethrow_exception(error);
    if constexpr (!std::is_void_v<R>) return std::move(*value);
  }

 private:
  void call_and_wait(std::function<void()> fn);

  std::thread thread_;
  std::shared_ptr<remote_endpoint> endpoint_;  // set before the constructor returns
  std::function<void()> stop_;                 // loop thread: ends the loop's main task
};

}  // namespace trident::aio::lowlevel
