#pragma once
// event_loop::run_until_complete, kept apart so event_loop.hpp stays readable. Included at the
// end of event_loop.hpp.

#include "trident/aio/spawn.hpp"

namespace trident::aio {

template <class T>
T event_loop::run_until_complete(task<T> main) {
  if (current() != nullptr) {
    throw std::logic_error("an event loop is already running on this thread (loops do not nest; "
                           "await the task instead)");
  }
  task_handle<T> handle = spawn(*this, std::move(main), "main");
  auto* state = handle.state();
  run_loop([state] { return state->finished; });
  wind_down();
  handle.state()->retrieved = true;
  if (handle.state()->error) std::rethrow_exception(handle.state()->error);
  if constexpr (!std::is_void_v<T>) return std::move(*handle.state()->value);
}

}  // namespace trident::aio
