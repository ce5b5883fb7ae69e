#pragma once
// The http tests run twice: as they are, and with TRIDENT_TEST_SESSION_LOOPS=3 (tests/CMakeLists.txt),
// which gives every session they make three loops, so that the same assertions hold for requests
// run on the session's own threads.

#include <cstdlib>
#include <string>

#include "trident/http/session.hpp"

namespace trident::http::testing {

/// `options` with `loops` from TRIDENT_TEST_SESSION_LOOPS when that is set and `options` asks
/// for the default one loop.
inline session_options with_test_loops(session_options options = {}) {
  if (const char* loops = std::getenv("TRIDENT_TEST_SESSION_LOOPS"); loops != nullptr && options.loops == 1) {
    options.loops = std::stoi(loops);
  }
  return options;
}

}  // namespace trident::http::testing
