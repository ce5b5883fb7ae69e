#pragma once
/// @file
/// The runners: `aio::run` (Python's `asyncio.run`) and `aio::run_until_complete`, which drive
/// an event loop from the calling thread until a main task ends. They sit above the tasks they
/// spawn, as asyncio's runners.py sits above tasks.py: nothing below includes this header.

#include <exception>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "trident/aio/event_loop.hpp"
#include "trident/aio/spawn.hpp"
#include "trident/aio/task.hpp"
#include "trident/core/errors.hpp"

namespace trident::aio {

/// Runs `loop` on the calling thread until `main` finishes, then winds down (the loop's
/// Shutdown steps: every task still alive is cancelled and awaited). Returns `main`'s value or
/// rethrows its exception; throws `cancelled_error` if `loop.stop()` ended it first, and
/// std::logic_error if a loop already runs on this thread.
///
/// @code
///   aio::event_loop loop;
///   int n = aio::run_until_complete(loop, count_pages());
/// @endcode
template <class T>
T run_until_complete(event_loop& loop, task<T> main) {
  if (event_loop::current() != nullptr) {
    throw std::logic_error(
        "an event loop is already running on this thread (loops do not nest; "
        "await the task instead)");
  }
  task_handle<T> handle = spawn(loop, std::move(main), "main");
  auto* state = handle.state();
  {
    struct wind_down_on_exit {  // also when the loop throws (epoll failure)
      event_loop& loop;
      ~wind_down_on_exit() { loop.wind_down(); }
    } guard{loop};
    loop.run_until([state] { return state->finished; });
  }
  state->retrieved = true;
  if (!state->finished) throw cancelled_error("the event loop stopped before the main task finished");
  if (state->error()) std::rethrow_exception(state->error());
  if constexpr (!std::is_void_v<T>) return std::move(*state->value);
}

/// Runs `main` on a new event loop on the calling thread and returns its result (Python's
/// `asyncio.run`). `options.virtual_time` runs it on virtual time (for tests).
///
/// @code
///   int main() { return aio::run(serve()); }
/// @endcode
template <class T>
T run(task<T> main, loop_options options = {}) {
  event_loop loop(options);
  return run_until_complete(loop, std::move(main));
}

}  // namespace trident::aio
