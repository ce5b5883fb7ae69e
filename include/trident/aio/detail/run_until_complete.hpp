#pragma once
// event_loop::run_until_complete, kept apart so event_loop.hpp stays readable. Included at the
// end of event_loop.hpp. When spawn.hpp is the header a program includes first, it is still
// being read here: so `spawn` is found by argument-dependent lookup when `run_until_complete`
// is instantiated, and the handle's type is left to `auto`.

#include "trident/aio/spawn.hpp"

namespace trident::aio {

template <class T>
T event_loop::run_until_complete(task<T> main) {
  if (current() != nullptr) {
    throw std::logic_error("an event loop is already running on this thread (loops do not nest; "
                           "await the task instead)");
  }
  auto handle = spawn(*this, std::move(main), "main");
  auto* state = handle.state();
  {
    struct wind_down_on_exit {  // also when run_loop throws (epoll failure)
      event_loop& loop;
      ~wind_down_on_exit() { loop.wind_down(); }
    } guard{*this};
    run_loop([state] { return state->finished; });
  }
  state->retrieved = true;
  if (!state->finished) throw cancelled_error("the event loop stopped before the main task finished");
  if (state->error) std::rethrow_exception(state->error);
  if constexpr (!std::is_void_v<T>) return std::move(*state->value);
}

}  // namespace trident::aio
