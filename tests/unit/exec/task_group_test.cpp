#include "trident/exec/task_group.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <thread>
#include <stdexcept>

#include "trident/exec/thread_pool.hpp"
#include "trident/sync/event.hpp"

namespace trident::exec {
namespace {

TEST(task_group, wait_returns_after_every_task_including_nested_runs) {
  thread_pool pool(2);
  std::atomic<int> count{0};
  task_group g(pool);
  for (int i = 0; i < 100; ++i) {
    g.run([&] {
      count++;
      g.run([&] { count++; });
    });
  }
  g.wait();
  EXPECT_EQ(count.load(), 200);
  EXPECT_EQ(g.pending(), 0u);
}

TEST(task_group, first_exception_is_rethrown_and_later_tasks_are_skipped) {
  thread_pool pool(1);
  sync::event started, gate;
  std::atomic<int> ran{0};
  task_group g(pool);
  g.run([&] {
    started.set();
    gate.wait();
    throw std::runtime_error("first");
  });
  started.wait();
  for (int i = 0; i < 10; ++i) g.run([&] { ran++; });  // queued behind the failing task
  gate.set();
  EXPECT_THROW(g.wait(), std::runtime_error);
  EXPECT_EQ(ran.load(), 0);
}

TEST(task_group, is_reusable_after_wait) {
  thread_pool pool(2);
  task_group g(pool);
  std::atomic<int> n{0};
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 10; ++i) g.run([&] { n++; });
    g.wait();
    EXPECT_EQ(n.load(), (round + 1) * 10);
  }
  g.wait();  // waiting with nothing scheduled returns at once
}

TEST(task_group, nested_groups_on_one_worker_do_not_deadlock) {
  thread_pool pool(1);
  std::atomic<int> leaves{0};
  auto f = pool.submit([&] {
    task_group outer(pool);
    for (int i = 0; i < 4; ++i) {
      outer.run([&] {
        task_group inner(pool);
        for (int j = 0; j < 4; ++j) inner.run([&] { leaves++; });
        inner.wait();
      });
    }
    outer.wait();
  });
  f.get();
  EXPECT_EQ(leaves.load(), 16);
}

// Regression: a group created on a worker whose tasks call run() while the worker is inside
// wait() (running those very tasks) used to take a block of reservations that join never gave
// back, so wait() never returned.
TEST(task_group, nested_runs_while_a_worker_waits_on_its_own_group) {
  for (std::size_t threads : {1u, 2u}) {
    thread_pool pool(threads);
    std::atomic<int> n{0};
    auto f = pool.submit([&] {
      task_group g(pool);
      std::function<void(int)> spread = [&](int depth) {
        n++;
        if (depth > 0) {
          g.run([&spread, depth] { spread(depth - 1); });
          g.run([&spread, depth] { spread(depth - 1); });
        }
      };
      g.run([&] { spread(6); });
      g.wait();
      return n.load();
    });
    EXPECT_EQ(f.get(), 127) << threads << " thread(s)";
  }
}

TEST(task_group, immediate_shutdown_fails_the_group_instead_of_hanging) {
  thread_pool pool(1);
  sync::event started, gate;
  task_group g(pool);
  g.run([&] {
    started.set();
    gate.wait();
  });
  started.wait();
  for (int i = 0; i < 5; ++i) g.run([] {});  // queued behind the blocked task
  std::thread stopper([&] { pool.shutdown(shutdown_mode::cancel_pending); });
  // Open the gate once shutdown has discarded the queue, not merely closed it: a task the freed
  // worker took in between would run (cancel_pending cancels what is queued when it sweeps).
  while (!pool.is_shut_down() || pool.statistics().queued != 0) std::this_thread::yield();
  gate.set();
  EXPECT_THROW(g.wait(), cancelled_error);
  stopper.join();
}

TEST(task_group, destructor_waits_for_running_tasks) {
  thread_pool pool(2);
  std::atomic<int> done{0};
  {
    task_group g(pool);
    for (int i = 0; i < 20; ++i) g.run([&] { done++; });
  }
  EXPECT_EQ(done.load(), 20);
}

}  // namespace
}  // namespace trident::exec
