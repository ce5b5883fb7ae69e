// The `threads` suite's Asio peer: asio::thread_pool with asio::post (see threads_peers.hpp).

#include <asio/post.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_future.hpp>

#include <chrono>
#include <future>
#include <latch>
#include <vector>

#include "threads_peers.hpp"

namespace trident::bench::asio_threads_peer {

namespace {
double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
}  // namespace

struct pool::impl {
  explicit impl(std::size_t threads) : threads(threads) {}
  asio::thread_pool threads;
};

pool::pool(std::size_t threads) : impl_(std::make_unique<impl>(threads)) {}

pool::~pool() { impl_->threads.join(); }

double post_all(pool& p, std::size_t count, void (*task)() noexcept) {
  const auto start = std::chrono::steady_clock::now();
  std::latch done(static_cast<std::ptrdiff_t>(count));
  for (std::size_t i = 0; i < count; ++i) {
    asio::post(p.impl_->threads, [task, &done] {
      task();
      done.count_down();
    });
  }
  done.wait();
  return seconds_since(start);
}

double futures(pool& p, std::size_t count, long long& sum) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::future<int>> results;
  results.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    results.push_back(asio::post(p.impl_->threads, asio::use_future([i] { return static_cast<int>(i & 1023); })));
  }
  sum = 0;
  for (auto& f : results) sum += f.get();
  return seconds_since(start);
}

double reduce(pool& p, std::size_t n, std::size_t pieces, const std::function<double(std::size_t, std::size_t)>& chunk,
              double& result) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<double> partial(pieces, 0.0);
  std::latch done(static_cast<std::ptrdiff_t>(pieces));
  for (std::size_t k = 0; k < pieces; ++k) {
    const std::size_t b = n * k / pieces;
    const std::size_t e = n * (k + 1) / pieces;
    asio::post(p.impl_->threads, [&chunk, &partial, &done, k, b, e] {
      partial[k] = chunk(b, e);
      done.count_down();
    });
  }
  done.wait();
  result = 0;
  for (double v : partial) result += v;
  return seconds_since(start);
}

}  // namespace trident::bench::asio_threads_peer
