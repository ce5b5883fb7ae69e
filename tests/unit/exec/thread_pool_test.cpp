#include "trident/exec/thread_pool.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <numeric>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "trident/exec/task_group.hpp"
#include "trident/sync/event.hpp"
#include "worker_blocker.hpp"

namespace trident::exec {
namespace {

using namespace std::chrono_literals;

struct custom_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

TEST(thread_pool, submit_returns_value_through_future) {
  thread_pool pool(2);
  auto f = pool.submit([](int a, int b) { return a * b; }, 6, 7);
  EXPECT_EQ(f.get(), 42);
  EXPECT_FALSE(f.valid());
}

TEST(thread_pool, submit_void_and_move_only_result) {
  thread_pool pool(2);
  std::atomic<int> hits{0};
  auto v = pool.submit([&] { hits++; });
  auto p = pool.submit([] { return std::make_unique<int>(5); });
  v.get();
  EXPECT_EQ(hits.load(), 1);
  EXPECT_EQ(*p.get(), 5);
}

TEST(thread_pool, exception_reaches_waiter_with_type_and_message) {
  thread_pool pool(2);
  auto f = pool.submit([]() -> int { throw custom_error("bad input 17"); });
  try {
    f.get();
    FAIL() << "get() should have thrown";
  } catch (const custom_error& e) {
    EXPECT_STREQ(e.what(), "bad input 17");
  }
  // The pool survives the exception and keeps working.
  EXPECT_EQ(pool.submit([] { return 1; }).get(), 1);
}

TEST(thread_pool, zero_workers_is_a_clear_error) {
  try {
    thread_pool pool(0);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("at least one worker"), std::string::npos);
  }
}

TEST(thread_pool, submit_after_shutdown_throws_shutdown_error) {
  thread_pool pool(1);
  pool.shutdown();
  EXPECT_TRUE(pool.is_shut_down());
  EXPECT_THROW(pool.submit([] { return 1; }), shutdown_error);
  EXPECT_THROW(pool.post([] {}), shutdown_error);
}

TEST(thread_pool, shutdown_wait_drains_queued_tasks) {
  std::atomic<int> ran{0};
  thread_pool pool(1);
  sync::event gate;
  pool.post([&] { gate.wait(); });
  std::vector<future<void>> fs;
  for (int i = 0; i < 100; ++i) fs.push_back(pool.submit([&] { ran++; }));
  gate.set();
  pool.shutdown(shutdown_mode::wait);
  EXPECT_EQ(ran.load(), 100);
  for (auto& f : fs) EXPECT_NO_THROW(f.get());
}

TEST(thread_pool, shutdown_cancel_pending_cancels_queued_futures) {
  thread_pool pool(1);
  sync::event started, gate;
  auto running = pool.submit([&] {
    started.set();
    gate.wait();
    return 7;
  });
  started.wait();
  std::vector<future<int>> queued;
  for (int i = 0; i < 10; ++i) queued.push_back(pool.submit([] { return 1; }));
  // Release the running task only once shutdown has cancelled the queue; shutdown then joins.
  std::thread releaser([&] {
    for (auto& f : queued) {
      while (f.status() != future_state::cancelled) std::this_thread::yield();
    }
    gate.set();
  });
  pool.shutdown(shutdown_mode::cancel_pending);
  releaser.join();
  EXPECT_EQ(running.get(), 7);  // running work finishes
  for (auto& f : queued) EXPECT_THROW(f.get(), cancelled_error);
}

TEST(thread_pool, outside_submissions_start_in_submission_order) {
  thread_pool pool(1);
  testing::worker_blocker blocker(pool);
  std::vector<int> order;  // only the single worker appends
  std::vector<future<void>> fs;
  for (int i = 0; i < 100; ++i) fs.push_back(pool.submit([&order, i] { order.push_back(i); }));
  blocker.release();
  for (auto& f : fs) f.get();
  std::vector<int> expected(100);
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(order, expected);
}

TEST(thread_pool, cancel_prevents_a_queued_task_from_running) {
  thread_pool pool(1);
  testing::worker_blocker blocker(pool);
  std::atomic<bool> ran{false};
  auto f = pool.submit([&] { ran = true; });
  EXPECT_EQ(f.status(), future_state::pending);
  EXPECT_TRUE(f.cancel());
  EXPECT_EQ(f.status(), future_state::cancelled);
  blocker.release();
  EXPECT_THROW(f.get(), cancelled_error);
  pool.shutdown();
  EXPECT_FALSE(ran.load());
}

TEST(thread_pool, cancel_of_running_task_returns_false) {
  thread_pool pool(1);
  sync::event started, gate;
  auto f = pool.submit([&] {
    started.set();
    gate.wait();
    return 3;
  });
  started.wait();
  EXPECT_FALSE(f.cancel());
  gate.set();
  EXPECT_EQ(f.get(), 3);
}

TEST(thread_pool, nested_submit_and_wait_on_one_worker_does_not_deadlock) {
  thread_pool pool(1);
  auto outer = pool.submit([&pool] {
    auto inner = pool.submit([&pool] {
      auto innermost = pool.submit([] { return 1; });
      return innermost.get() + 1;
    });
    return inner.get() + 1;
  });
  EXPECT_EQ(outer.get(), 3);
}

int fib(thread_pool& pool, int n) {
  if (n < 2) return n;
  auto left = pool.submit([&pool, n] { return fib(pool, n - 1); });
  const int right = fib(pool, n - 2);
  return left.get() + right;
}

TEST(thread_pool, recursive_futures_on_small_pool_complete) {
  thread_pool pool(2);
  EXPECT_EQ(pool.submit([&] { return fib(pool, 18); }).get(), 2584);
}

// Regression: a nested push used to look for sleeping peers without a fence. A task that then
// blocked on something other than a future (here an event) could wait forever for the work
// sleeping in its own deque while the peer that should have taken it slept.
TEST(thread_pool, task_blocking_on_an_event_its_nested_task_sets_completes) {
  thread_pool pool(2);
  for (int i = 0; i < 2000; ++i) {
    auto f = pool.submit([&pool] {
      sync::event done;
      pool.post([&done] { done.set(); });
      done.wait();  // blocks this worker: only the other one can run the nested task
    });
    f.get();
  }
}

struct alignas(128) over_aligned {
  char bytes[128];
};

TEST(thread_pool, over_aligned_results_are_aligned) {
  thread_pool pool(1);
  auto f = pool.submit([] {
    over_aligned v{};
    v.bytes[0] = 'x';
    v.bytes[127] = 'y';
    return v;
  });
  const over_aligned v = f.get();  // UBSan checks the alignment of every access on the way
  EXPECT_EQ(v.bytes[0], 'x');
  EXPECT_EQ(v.bytes[127], 'y');
}

TEST(thread_pool, map_returns_results_in_input_order) {
  thread_pool pool(3);
  std::vector<int> in(1000);
  std::iota(in.begin(), in.end(), 0);
  auto out = pool.map([](int x) { return x * x; }, in);
  ASSERT_EQ(out.size(), in.size());
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(out[static_cast<std::size_t>(i)], i * i);
  EXPECT_TRUE(pool.map([](int x) { return x; }, std::vector<int>{}).empty());
}

TEST(thread_pool, map_rethrows_first_failure_in_input_order) {
  thread_pool pool(2);
  std::vector<int> in{0, 1, 2, 3, 4, 5};
  try {
    pool.map(
        [](int x) -> int {
          if (x == 2) throw custom_error("two");
          if (x == 4) throw custom_error("four");
          return x;
        },
        in, 1);
    FAIL();
  } catch (const custom_error& e) {
    EXPECT_STREQ(e.what(), "two");
  }
}

TEST(thread_pool, posted_exception_does_not_terminate) {
  thread_pool pool(1);
  pool.post([] { throw custom_error("ignored but reported"); });
  EXPECT_EQ(pool.submit([] { return 5; }).get(), 5);
}

TEST(thread_pool, work_spreads_over_all_workers) {
  thread_pool pool(2);
  std::latch both(2);
  std::mutex m;
  std::set<int> seen;
  auto record = [&] {
    {
      std::lock_guard lock(m);
      seen.insert(thread_pool::current_worker_index());
    }
    both.arrive_and_wait();  // only completes if two workers run at once
  };
  auto a = pool.submit(record);
  auto b = pool.submit(record);
  a.get();
  b.get();
  EXPECT_EQ(seen, (std::set<int>{0, 1}));
  EXPECT_EQ(thread_pool::current(), nullptr);
  EXPECT_EQ(pool.submit([&] { return thread_pool::current() == &pool; }).get(), true);
}

TEST(thread_pool, statistics_count_completed_and_print) {
  thread_pool pool(2);
  std::vector<future<int>> fs;
  for (int i = 0; i < 50; ++i) fs.push_back(pool.submit([i] { return i; }));
  for (auto& f : fs) f.get();
  // completed is counted after the future is published; wait for the counters to settle.
  pool.shutdown();
  const auto s = pool.statistics();
  EXPECT_EQ(s.workers, 2u);
  EXPECT_EQ(s.completed, 50u);
  EXPECT_EQ(s.queued, 0u);
  EXPECT_EQ(s.running, 0u);
  std::ostringstream text;
  text << pool;
  EXPECT_NE(text.str().find("completed:50"), std::string::npos) << text.str();
}

double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

TEST(thread_pool, idle_workers_sleep_instead_of_spinning) {
  thread_pool pool(4);
  pool.submit([] {}).get();  // workers started and gone idle
  const double before = process_cpu_seconds();
  std::this_thread::sleep_for(1s);
  const double used = process_cpu_seconds() - before;
  // Four spinning workers would burn ~4 CPU-seconds; sleeping ones close to none.
  EXPECT_LT(used, 0.2) << "idle pool used " << used << " CPU seconds in one second";
}

TEST(thread_pool, try_run_one_from_outside_runs_queued_work) {
  thread_pool pool(1);
  testing::worker_blocker blocker(pool);
  auto f = pool.submit([] { return 9; });
  EXPECT_TRUE(pool.try_run_one());  // the caller ran it
  EXPECT_TRUE(f.ready());
  EXPECT_EQ(f.get(), 9);
  EXPECT_FALSE(pool.try_run_one());
  blocker.release();
}

TEST(thread_pool, shutdown_from_own_worker_is_a_clear_error) {
  thread_pool pool(1);
  auto f = pool.submit([&pool] { pool.shutdown(); });
  EXPECT_THROW(f.get(), std::logic_error);
}

}  // namespace
}  // namespace trident::exec
