/// @file
/// The checked (slow) paths of trident::sync::mutex and its printing.

#include "trident/sync/mutex.hpp"

#include <fmt/format.h>
#include <pthread.h>

#include <cerrno>
#include <ostream>

namespace trident::sync {

void mutex::lock_checked(source_location where) {
  check_before_lock(where);  // throws before blocking
  native_.lock();
  note_acquired_or_unlock(where);
}

void mutex::note_acquired_or_unlock(source_location where) {
  try {
    note_acquired(where);
  } catch (...) {  // the held list could not grow (bad_alloc): do not keep an unrecorded lock
    native_.unlock();
    throw;
  }
}

std::ostream& operator<<(std::ostream& os, const mutex& m) {
  const char* state = "unlocked";
  if (m.held_by_this_thread()) {
    state = "locked by this thread";
  } else {
    // POSIX defines trylock on a locked default mutex (whoever owns it) as EBUSY, so probing
    // is well defined even when the printing thread itself holds it unrecorded.
    pthread_mutex_t* native = m.native_.native_handle();
    if (pthread_mutex_trylock(native) == 0) {
      pthread_mutex_unlock(native);
    } else {
      state = "locked";
    }
  }
  if (m.name().empty()) {
    return os << fmt::format("mutex@{} [{}]", static_cast<const void*>(&m), state);
  }
  return os << fmt::format("mutex '{}' [{}]", m.name(), state);
}

}  // namespace trident::sync
