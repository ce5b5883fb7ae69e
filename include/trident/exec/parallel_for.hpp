#pragma once
/// @file
/// `parallel_for` and `parallel_reduce` over index ranges, on a `thread_pool`.

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <functional>
#include <type_traits>
#include <utility>
#include <vector>

#include "trident/exec/task_group.hpp"
#include "trident/exec/thread_pool.hpp"

namespace trident::exec {

namespace detail {

/// Chunk length for `count` items: about four chunks per worker (so stealing can even out
/// uneven chunks), never below `min_grain`.
inline std::size_t chunk_length(std::size_t count, std::size_t workers, std::size_t min_grain) {
  const std::size_t target_chunks = std::max<std::size_t>(1, workers * 4);
  return std::max<std::size_t>({min_grain, 1, (count + target_chunks - 1) / target_chunks});
}

}  // namespace detail

/// Calls `body` for every index in [first, last) on the pool and waits for all calls.
/// `body` is either `void(std::size_t index)` or `void(std::size_t begin, std::size_t end)` for a
/// whole chunk (faster for tiny bodies). `grain` is the smallest chunk (0: automatic).
/// The first exception thrown by `body` is rethrown; chunks not yet started are then skipped.
template <class Body>
void parallel_for(thread_pool& pool, std::size_t first, std::size_t last, Body&& body, std::size_t grain = 0) {
  if (last <= first) return;
  const std::size_t length = exec::detail::chunk_length(last - first, pool.size(), grain);
  task_group group(pool);
  for (std::size_t begin = first; begin < last; begin += length) {
    const std::size_t end = std::min(last, begin + length);
    group.run([&body, begin, end] {
      if constexpr (std::is_invocable_v<Body&, std::size_t, std::size_t>) {
        body(begin, end);
      } else {
        for (std::size_t i = begin; i < end; ++i) body(i);
      }
    });
  }
  group.wait();
}

/// Reduces [first, last): each chunk is folded by `chunk_fold(begin, end) -> T`, and the chunk
/// results are combined left to right with `combine(T, T) -> T`, starting from `init`. The
/// result is deterministic for a given pool size and grain (chunks are combined in index order).
template <class T, class ChunkFold, class Combine = std::plus<T>>
T parallel_reduce(thread_pool& pool, std::size_t first, std::size_t last, T init, ChunkFold&& chunk_fold,
                  Combine combine = {}, std::size_t grain = 0) {
  if (last <= first) return init;
  const std::size_t length = exec::detail::chunk_length(last - first, pool.size(), grain);
  const std::size_t chunks = (last - first + length - 1) / length;
  std::vector<T> partial(chunks, init);
  parallel_for(
      pool, 0, chunks,
      [&](std::size_t c) {
        const std::size_t begin = first + c * length;
        partial[c] = chunk_fold(begin, std::min(last, begin + length));
      },
      1);
  T result = std::move(init);
  for (auto& p : partial) result = combine(std::move(result), std::move(p));
  return result;
}

}  // namespace trident::exec

// This header's names under their 0.1 spelling, directly in `trident::`: deprecated until 0.3.
#define TRIDENT_EXEC_PARALLEL_FOR_HPP
#include "trident/exec/deprecated_names.hpp"
