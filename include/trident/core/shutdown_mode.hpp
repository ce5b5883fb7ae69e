#pragma once
/// @file
/// `trident::shutdown_mode`: what a pool's `shutdown` does with work that is queued but not
/// started. One enum for the thread pool and the process pool, so a program stops both the
/// same way.

namespace trident {

/// How `shutdown` treats work that is queued but not started.
enum class shutdown_mode {
  wait,            ///< Run everything already queued, then stop (Python's `shutdown(wait=True)`).
  cancel_pending,  ///< Cancel queued work (its futures throw `cancelled_error`), finish running work.
};

}  // namespace trident
