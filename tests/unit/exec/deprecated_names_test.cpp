// The 0.1 spellings of exec's names (`trident::thread_pool`, …) still compile for the 0.2
// releases and name the same entities as their `trident::exec::` names (deprecated_names.hpp).
// Uses of them warn by design; this file alone turns that warning off.
#include <gtest/gtest.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <type_traits>
#include <vector>

#include "trident/exec/as_completed.hpp"
#include "trident/exec/completion_queue.hpp"
#include "trident/exec/continuation.hpp"
#include "trident/exec/future.hpp"
#include "trident/exec/parallel_for.hpp"
#include "trident/exec/task_group.hpp"
#include "trident/exec/thread_pool.hpp"
#include "trident/exec/when_all.hpp"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

static_assert(std::is_same_v<trident::thread_pool, trident::exec::thread_pool>);
static_assert(std::is_same_v<trident::thread_pool_options, trident::exec::thread_pool_options>);
static_assert(std::is_same_v<trident::thread_pool_statistics, trident::exec::thread_pool_statistics>);
static_assert(std::is_same_v<trident::future<int>, trident::exec::future<int>>);
static_assert(std::is_same_v<trident::future<void>, trident::exec::future<void>>);
static_assert(std::is_same_v<trident::promise<int>, trident::exec::promise<int>>);
static_assert(std::is_same_v<trident::future_state, trident::exec::future_state>);
static_assert(std::is_same_v<trident::future_status, trident::exec::future_status>);
static_assert(std::is_same_v<trident::continuation, trident::exec::continuation>);
static_assert(std::is_same_v<trident::completion_queue, trident::exec::completion_queue>);
static_assert(std::is_same_v<trident::completion_range<int>, trident::exec::completion_range<int>>);
static_assert(std::is_same_v<trident::task_group, trident::exec::task_group>);
static_assert(std::is_same_v<decltype(trident::make_ready_future(1)), trident::exec::future<int>>);
static_assert(std::is_same_v<decltype(trident::when_all(std::vector<trident::exec::future<int>>{})),
                             trident::exec::future<std::vector<int>>>);

namespace trident::aio_like {

// Code in another layer's namespace that calls a function unqualified sees the deprecated
// forwarder by ordinary lookup and exec's function by argument-dependent lookup: exec's must be
// chosen (no ambiguity). Checked by type: the forwarder takes one more (empty) parameter pack.
inline auto all_of(std::vector<exec::future<int>> fs) { return when_all(std::move(fs)); }
static_assert(std::is_same_v<decltype(all_of({})), exec::future<std::vector<int>>>);

}  // namespace trident::aio_like

namespace {

TEST(exec_deprecated_names, old_spellings_run_the_same_pool_and_functions) {
  trident::thread_pool pool(trident::thread_pool_options{2, "old-names"});
  trident::exec::thread_pool& same = pool;
  EXPECT_EQ(same.size(), 2U);

  std::vector<trident::future<int>> fs;
  for (int i = 1; i <= 3; ++i) fs.push_back(pool.submit([i] { return i * 10; }));
  EXPECT_EQ(trident::when_all(std::move(fs)).get(), (std::vector<int>{10, 20, 30}));

  std::vector<trident::future<int>> some;
  some.push_back(trident::make_ready_future(7));
  EXPECT_EQ(trident::when_any(some).get(), 0U);
  int seen = 0;
  for (auto& f : trident::as_completed(some)) seen += f.get();
  EXPECT_EQ(seen, 7);

  std::vector<int> hits(100, 0);
  trident::parallel_for(pool, 0, hits.size(), [&](std::size_t i) { hits[i] = 1; });
  EXPECT_EQ(trident::parallel_reduce(pool, 0, hits.size(), 0,
                                     [&](std::size_t b, std::size_t e) {
                                       int s = 0;
                                       for (std::size_t i = b; i < e; ++i) s += hits[i];
                                       return s;
                                     }),
            100);

  trident::task_group group(pool);
  int ran = 0;
  group.run([&] { ran = 1; });
  group.wait();
  EXPECT_EQ(ran, 1);

  trident::promise<int> p;
  auto later = p.get_future();
  struct flag final : trident::continuation {
    bool* fired;
    explicit flag(bool* f) : fired(f) { fire = &on_fire; }
    static void on_fire(trident::exec::continuation* c) noexcept { *static_cast<flag*>(c)->fired = true; }
  };
  bool fired = false;
  flag node(&fired);
  EXPECT_TRUE(trident::add_continuation(later, node));
  p.set_value(3);
  EXPECT_TRUE(fired);
  EXPECT_EQ(later.status(), trident::future_state::succeeded);
}

}  // namespace

#pragma GCC diagnostic pop
