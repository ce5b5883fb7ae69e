// ThreadSanitizer's suppressions for every test executable: compiled into the binary, so that a
// test run needs no TSAN_OPTIONS.

#if defined(__SANITIZE_THREAD__)

extern "C" const char* __tsan_default_suppressions() {
  // libstdc++ is not built with ThreadSanitizer, so the reference count that a
  // std::exception_ptr shares with the exception it holds is invisible to it. When one thread
  // catches a failure from a future (std::rethrow_exception) and another thread, a pool's I/O
  // thread, drops the last std::exception_ptr afterwards, the destruction looks unordered with
  // the catch handler's reads, though the count's atomic orders them. Only that release path is
  // named, so every other race in the exception's memory is still reported.
  return "race:std::__exception_ptr::exception_ptr::_M_release\n";
}

#endif
