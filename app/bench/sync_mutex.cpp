// trident::sync::mutex against std::mutex, uncontended lock/unlock, with lock-order checking off and on.

#include <mutex>

#include <benchmark/benchmark.h>

#include "trident/sync/lock_order.hpp"
#include "trident/sync/mutex.hpp"

namespace {

template <class Mutex>
void lock_unlock(benchmark::State& state) {
  const bool checking = state.range(0) != 0;
  const bool was = trident::sync::lock_order::enabled();
  trident::sync::lock_order::set_enabled(checking);
  Mutex m;
  for (auto _ : state) {
    m.lock();
    benchmark::ClobberMemory();
    m.unlock();
  }
  trident::sync::lock_order::set_enabled(was);
}

// With another lock held, each lock() of the inner one also consults the order graph.
template <class Mutex>
void nested_lock_unlock(benchmark::State& state) {
  const bool checking = state.range(0) != 0;
  const bool was = trident::sync::lock_order::enabled();
  trident::sync::lock_order::set_enabled(checking);
  Mutex outer;
  Mutex inner;
  for (auto _ : state) {
    outer.lock();
    inner.lock();
    benchmark::ClobberMemory();
    inner.unlock();
    outer.unlock();
  }
  trident::sync::lock_order::set_enabled(was);
}

BENCHMARK_TEMPLATE(lock_unlock, std::mutex)->ArgName("checking")->Arg(0)->Arg(1);
BENCHMARK_TEMPLATE(lock_unlock, trident::sync::mutex)->ArgName("checking")->Arg(0)->Arg(1);
BENCHMARK_TEMPLATE(nested_lock_unlock, std::mutex)->ArgName("checking")->Arg(0)->Arg(1);
BENCHMARK_TEMPLATE(nested_lock_unlock, trident::sync::mutex)->ArgName("checking")->Arg(0)->Arg(1);

}  // namespace
