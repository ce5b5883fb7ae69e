#include "trident/exec/task_group.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>

#include "trident/exec/thread_pool.hpp"
#include "trident/sync/event.hpp"

namespace trident {
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
  event started, gate;
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
}  // namespace trident
