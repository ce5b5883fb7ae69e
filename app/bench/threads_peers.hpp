#pragma once
/// @file
/// The C++ peer of the `threads` suite (threads_suite.cpp) beside oneTBB: Asio's
/// `asio::thread_pool` (threads_peer_asio.cpp), written as Asio's documentation shows it:
/// `asio::post` of function objects to the pool, `asio::use_future` for results, and a
/// `std::latch` to wait for fire-and-forget work (the pool's own `join`/`wait` end it). Compiled in
/// only where libasio-dev was found at configure time (TRIDENT_BENCH_ASIO).
///
/// Every function times one run and checks nothing itself: the suite checks what it returns.

#include <cstddef>
#include <functional>
#include <memory>

namespace trident::bench::asio_threads_peer {

/// An `asio::thread_pool` of `threads` threads, started on construction and joined on
/// destruction, so that runs do not pay for starting threads.
class pool {
 public:
  explicit pool(std::size_t threads);
  pool(const pool&) = delete;
  pool& operator=(const pool&) = delete;
  ~pool();

  struct impl;

 private:
  friend double post_all(pool&, std::size_t, void (*)() noexcept);
  friend double futures(pool&, std::size_t, long long&);
  friend double reduce(pool&, std::size_t, std::size_t, const std::function<double(std::size_t, std::size_t)>&,
                       double&);
  std::unique_ptr<impl> impl_;
};

/// Seconds to `asio::post` `count` calls of `task` and wait until every one has run.
double post_all(pool& p, std::size_t count, void (*task)() noexcept);

/// Seconds to post `count` functions returning `i & 1023` with `asio::use_future` and add up
/// every future's value into `sum`.
double futures(pool& p, std::size_t count, long long& sum);

/// Seconds to add up `chunk(b, e)` over [0, n) in `pieces` equal pieces, each posted to the pool,
/// into `result`.
double reduce(pool& p, std::size_t n, std::size_t pieces, const std::function<double(std::size_t, std::size_t)>& chunk,
              double& result);

}  // namespace trident::bench::asio_threads_peer
