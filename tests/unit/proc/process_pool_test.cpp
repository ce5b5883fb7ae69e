#include "trident/proc/process_pool.hpp"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "proc_test_support.hpp"
#include "trident/proc/detail/start_process.hpp"
#include "trident/proc/worker_main.hpp"

extern char** environ;

namespace {

// Read at run time, so the compiler neither folds the bad store nor warns about it.
volatile std::uintptr_t bad_address = 8;

int square(int x) { return x * x; }
TRIDENT_TASK(square);

int pid_of_worker(int) { return trident::proc::current_pid(); }
TRIDENT_TASK(pid_of_worker);

std::string concat(std::string a, int n, std::vector<std::string> more) {
  for (auto& m : more) a += m;
  return a + std::to_string(n);
}
TRIDENT_TASK(concat);

int throws_invalid(int x) { throw std::invalid_argument("bad value " + std::to_string(x)); }
TRIDENT_TASK(throws_invalid);

int square_unless_seven(int x) {
  if (x == 7) throw std::invalid_argument("seven");
  return x * x;
}
TRIDENT_TASK(square_unless_seven);

int segfaults(int) {
  // Address 8, not nullptr: a field of a null struct pointer, and a store UBSan does not stop
  // before the kernel does (the sanitizer builds must see the real SIGSEGV).
  volatile int* p = reinterpret_cast<volatile int*>(bad_address);
  *p = 1;
  return 0;
}
TRIDENT_TASK(segfaults);

int aborts(int) { std::abort(); }
TRIDENT_TASK(aborts);

int sleeps_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}
TRIDENT_TASK(sleeps_ms);

std::size_t length_of(std::string s) { return s.size(); }
TRIDENT_TASK(length_of);

std::string make_big(int n) { return std::string(static_cast<std::size_t>(n), 'q'); }
TRIDENT_TASK(make_big);

std::size_t allocate_mb(int mb) {
  std::vector<char> v(static_cast<std::size_t>(mb) << 20, 1);
  // The memory must escape: C++14 lets a compiler drop an allocation nobody reads, and clang
  // does, so the memory-limit test saw no bad_alloc. An empty asm that may read it forbids that.
  asm volatile("" : : "r"(v.data()) : "memory");
  return v.size();
}
TRIDENT_TASK(allocate_mb);

int unregistered(int x) { return x; }

using trident::proc::process_pool;
using trident::proc::process_pool_options;
namespace pt = trident::proc::testing;

class process_pool_test : public ::testing::Test {
 protected:
  void SetUp() override { shm_before_ = pt::dev_shm_entries(); }
  void TearDown() override {
    EXPECT_EQ(pt::wait_for_children(0), 0u) << "a worker outlived its pool";
    EXPECT_EQ(pt::zombie_count(), 0u);
    EXPECT_EQ(pt::dev_shm_entries(), shm_before_) << "something was left in /dev/shm";
  }
  std::set<std::string> shm_before_;
};

TEST_F(process_pool_test, submit_returns_the_result) {
  process_pool pool(2);
  auto f = pool.submit(square, 7);
  EXPECT_EQ(f.get(), 49);
  EXPECT_EQ(pool.submit(concat, std::string("a"), 3, std::vector<std::string>{"b", "c"}).get(), "abc3");
}

TEST_F(process_pool_test, tasks_run_in_other_processes) {
  process_pool pool(2);
  std::set<int> pids;
  for (auto pid : pool.map(pid_of_worker, std::vector<int>(50, 0))) pids.insert(pid);
  EXPECT_FALSE(pids.contains(::getpid()));
  const auto workers = pool.statistics().worker_pids;
  for (int pid : pids) EXPECT_NE(std::find(workers.begin(), workers.end(), pid), workers.end());
}

TEST_F(process_pool_test, map_keeps_input_order_for_any_chunksize) {
  process_pool pool(2);
  std::vector<int> in(1000);
  for (int i = 0; i < 1000; ++i) in[i] = i;
  for (std::size_t chunk : {1u, 7u, 100u, 5000u}) {
    auto out = pool.map(square, in, chunk);
    ASSERT_EQ(out.size(), in.size());
    for (int i = 0; i < 1000; ++i) ASSERT_EQ(out[i], i * i) << chunk;
  }
  EXPECT_TRUE(pool.map(square, std::vector<int>{}).empty());
}

TEST_F(process_pool_test, map_and_imap_choose_chunks_when_not_told) {
  process_pool pool(2);
  EXPECT_EQ(pool.chunksize_for(1000, 4), 125u);  // 4 chunks per worker
  EXPECT_EQ(pool.chunksize_for(1001, 4), 126u);
  EXPECT_EQ(pool.chunksize_for(8, 4), 1u);  // small inputs: one element per task
  EXPECT_EQ(pool.chunksize_for(0, 4), 1u);
  std::vector<int> in(1000);
  for (int i = 0; i < 1000; ++i) in[i] = i;

  const auto before = pool.statistics().submitted;
  const auto out = pool.map(square, in);
  ASSERT_EQ(out.size(), in.size());
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(out[i], i * i);
  EXPECT_EQ(pool.statistics().submitted - before, 8u) << "a chunk counts as one task";

  const auto before_imap = pool.statistics().submitted;
  int expected = 0;
  for (int v : pool.imap(square, in)) {
    ASSERT_EQ(v, expected * expected);
    ++expected;
  }
  EXPECT_EQ(expected, 1000);
  EXPECT_EQ(pool.statistics().submitted - before_imap, 32u);  // 16 chunks per worker

  const auto before_one = pool.statistics().submitted;
  (void)pool.map(square, in, 1);
  EXPECT_EQ(pool.statistics().submitted - before_one, 1000u) << "chunksize 1 still means one task per element";
}

TEST_F(process_pool_test, imap_streams_in_order) {
  process_pool pool(2);
  std::vector<int> in(300);
  for (int i = 0; i < 300; ++i) in[i] = i;
  int expect = 0;
  for (int v : pool.imap(square, in, 4)) {
    ASSERT_EQ(v, expect * expect);
    ++expect;
  }
  EXPECT_EQ(expect, 300);
}

TEST_F(process_pool_test, imap_unordered_yields_every_result_once) {
  process_pool pool(2);
  std::vector<int> in(300);
  for (int i = 0; i < 300; ++i) in[i] = i;
  std::multiset<int> got;
  for (int v : pool.imap_unordered(square, in, 3)) got.insert(v);
  ASSERT_EQ(got.size(), 300u);
  for (int i = 0; i < 300; ++i) EXPECT_EQ(got.count(i * i), 1u);
}

TEST_F(process_pool_test, a_failed_item_of_imap_is_rethrown_in_its_place_and_the_stream_goes_on) {
  // Before, the ordered stream kept the failed chunk at its head: every later `next()` threw
  // future_error ("already retrieved") and the items after it were out of reach.
  process_pool pool(2);
  std::vector<int> in(12);
  for (int i = 0; i < 12; ++i) in[i] = i;
  auto results = pool.imap(square_unless_seven, in, 1);
  std::vector<int> got;
  int failures = 0;
  for (int i = 0; i < 12; ++i) {
    try {
      auto v = results.next();
      ASSERT_TRUE(v.has_value());
      got.push_back(*v);
    } catch (const trident::proc::remote_error& e) {
      EXPECT_EQ(i, 7);
      EXPECT_EQ(e.type_name(), "std::invalid_argument");
      EXPECT_EQ(e.message(), "seven");
      ++failures;
    }
  }
  EXPECT_FALSE(results.next().has_value());
  EXPECT_EQ(failures, 1);
  const std::vector<int> expected{0, 1, 4, 9, 16, 25, 36, 64, 81, 100, 121};
  EXPECT_EQ(got, expected);

  auto unordered = pool.imap_unordered(square_unless_seven, in, 1);
  std::multiset<int> any_order;
  failures = 0;
  for (int i = 0; i < 12; ++i) {
    try {
      any_order.insert(unordered.next().value());
    } catch (const trident::proc::remote_error&) {
      ++failures;
    }
  }
  EXPECT_FALSE(unordered.next().has_value());
  EXPECT_EQ(failures, 1);
  EXPECT_EQ(any_order, std::multiset<int>(expected.begin(), expected.end()));
}

TEST_F(process_pool_test, as_completed_works_on_pool_futures) {
  process_pool pool(2);
  std::vector<trident::exec::future<int>> fs;
  for (int ms : {200, 10, 100}) fs.push_back(pool.submit(sleeps_ms, ms));
  std::vector<int> order;
  for (auto& f : trident::exec::as_completed(fs)) order.push_back(f.get());
  ASSERT_EQ(order.size(), 3u);
  EXPECT_EQ(order.front(), 10);
}

TEST_F(process_pool_test, exception_comes_back_with_type_and_message) {
  process_pool pool(1);
  auto f = pool.submit(throws_invalid, 5);
  try {
    f.get();
    FAIL() << "no exception";
  } catch (const trident::proc::remote_error& e) {
    EXPECT_EQ(e.type_name(), "std::invalid_argument");
    EXPECT_EQ(e.message(), "bad value 5");
  }
  EXPECT_EQ(pool.submit(square, 3).get(), 9);  // the worker is fine
}

TEST_F(process_pool_test, unregistered_function_is_a_clear_error) {
  process_pool pool(1);
  try {
    (void)pool.submit(unregistered, 1);
    FAIL() << "no exception";
  } catch (const trident::proc::unregistered_task_error& e) {
    EXPECT_NE(std::string(e.what()).find("TRIDENT_TASK"), std::string::npos);
  }
}

void expect_crash_isolated(int (*crasher)(int), int expected_signal) {
  process_pool pool(2);
  auto before = pool.statistics().worker_pids;
  std::vector<trident::exec::future<int>> ok;
  for (int i = 0; i < 20; ++i) ok.push_back(pool.submit(square, i));
  auto bad = pool.submit(crasher, 0);
  for (int i = 20; i < 40; ++i) ok.push_back(pool.submit(square, i));
  try {
    bad.get();
    FAIL() << "crash not reported";
  } catch (const trident::proc::worker_crashed_error& e) {
    EXPECT_EQ(e.signal(), expected_signal) << e.what();
    EXPECT_NE(std::string(e.what()).find(trident::proc::detail::signal_name(expected_signal)), std::string::npos)
        << e.what();
  }
  for (int i = 0; i < 40; ++i) EXPECT_EQ(ok[i].get(), i * i);
  EXPECT_EQ(pool.submit(square, 12).get(), 144);
  EXPECT_EQ(pt::wait_for_children(2), 2u) << "the crashed worker was not replaced";
  EXPECT_EQ(pt::zombie_count(), 0u);
  EXPECT_EQ(pool.statistics().crashed, 1u);
}

TEST_F(process_pool_test, segfault_fails_only_its_task) { expect_crash_isolated(segfaults, SIGSEGV); }

TEST_F(process_pool_test, abort_fails_only_its_task) { expect_crash_isolated(aborts, SIGABRT); }

TEST_F(process_pool_test, worker_killed_from_outside_fails_its_task) {
  process_pool pool(2);
  auto slow = pool.submit(sleeps_ms, 30000);
  int victim = 0;
  for (int i = 0; i < 500 && victim == 0; ++i) {
    // The slow task is the only one: find the worker running it (the one not answering).
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (pool.statistics().in_flight == 1) {
      auto a = pool.submit(pid_of_worker, 0).get();
      for (int pid : pool.statistics().worker_pids) {
        if (pid != a) victim = pid;
      }
    }
  }
  ASSERT_NE(victim, 0);
  ::kill(victim, SIGKILL);
  try {
    slow.get();
    FAIL() << "kill not reported";
  } catch (const trident::proc::worker_crashed_error& e) {
    EXPECT_EQ(e.signal(), SIGKILL);
    EXPECT_EQ(e.pid(), victim);
  }
  EXPECT_EQ(pool.submit(square, 5).get(), 25);
}

TEST_F(process_pool_test, timeout_kills_the_worker_and_fails_the_task) {
  process_pool pool(2);
  auto slow = pool.submit_for(std::chrono::milliseconds(200), sleeps_ms, 30000);
  auto fast = pool.submit_for(std::chrono::milliseconds(5000), sleeps_ms, 1);
  EXPECT_THROW(slow.get(), trident::proc::task_timeout_error);
  EXPECT_EQ(fast.get(), 1);
  EXPECT_EQ(pool.submit(square, 4).get(), 16);
}

TEST_F(process_pool_test, max_tasks_per_child_replaces_workers) {
  process_pool pool(process_pool_options{.workers = 1, .max_tasks_per_child = 3});
  std::set<int> pids;
  for (int i = 0; i < 9; ++i) pids.insert(pool.submit(pid_of_worker, 0).get());
  EXPECT_EQ(pids.size(), 3u);
}

TEST_F(process_pool_test, large_arguments_and_results_use_shared_memory) {
  process_pool pool(2);
  const std::string big(3 << 20, 'x');
  EXPECT_EQ(pool.submit(length_of, big).get(), big.size());
  EXPECT_EQ(pool.submit(make_big, 1 << 20).get().size(), std::size_t{1} << 20);
  auto lengths = pool.map(length_of, std::vector<std::string>(8, std::string(100000, 'y')));
  for (auto n : lengths) EXPECT_EQ(n, 100000u);
}

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
TEST_F(process_pool_test, memory_limit_turns_a_huge_allocation_into_bad_alloc) {
  process_pool pool(process_pool_options{.workers = 1, .memory_limit_bytes = std::size_t{512} << 20});
  EXPECT_EQ(pool.submit(allocate_mb, 16).get(), std::size_t{16} << 20);
  try {
    pool.submit(allocate_mb, 2048).get();
    FAIL() << "allocation past the limit succeeded";
  } catch (const trident::proc::remote_error& e) {
    EXPECT_EQ(e.type_name(), "std::bad_alloc");
  }
}
#endif

TEST_F(process_pool_test, cancelled_queued_task_never_runs) {
  process_pool pool(1);
  auto blocker = pool.submit(sleeps_ms, 300);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto victim = pool.submit(sleeps_ms, 1);
  EXPECT_TRUE(victim.cancel());
  EXPECT_THROW(victim.get(), trident::cancelled_error);
  EXPECT_EQ(blocker.get(), 300);
}

TEST_F(process_pool_test, graceful_shutdown_finishes_queued_work) {
  std::vector<trident::exec::future<int>> fs;
  {
    process_pool pool(2);
    for (int i = 0; i < 100; ++i) fs.push_back(pool.submit(square, i));
    pool.shutdown();
    EXPECT_THROW((void)pool.submit(square, 1), trident::shutdown_error);
  }
  for (int i = 0; i < 100; ++i) EXPECT_EQ(fs[i].get(), i * i);
}

TEST_F(process_pool_test, terminate_kills_workers_and_fails_what_is_left) {
  process_pool pool(2);
  std::vector<trident::exec::future<int>> fs;
  for (int i = 0; i < 6; ++i) fs.push_back(pool.submit(sleeps_ms, 10000));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto start = std::chrono::steady_clock::now();
  pool.terminate();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  for (auto& f : fs) EXPECT_THROW(f.get(), trident::cancelled_error);
  EXPECT_EQ(pt::children().size(), 0u);
}

TEST_F(process_pool_test, shutdown_cancel_pending_cancels_queued_work) {
  process_pool pool(1);
  auto running = pool.submit(sleeps_ms, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::vector<trident::exec::future<int>> queued;
  for (int i = 0; i < 5; ++i) queued.push_back(pool.submit(sleeps_ms, 1));
  pool.shutdown(trident::shutdown_mode::cancel_pending);
  EXPECT_EQ(running.get(), 200);
  // The pool may already have sent the worker its next task (pipelining): that one counts as
  // started and runs. Every other queued task is cancelled.
  int cancelled = 0;
  for (auto& f : queued) {
    try {
      EXPECT_EQ(f.get(), 1);
    } catch (const trident::cancelled_error&) {
      ++cancelled;
    }
  }
  EXPECT_GE(cancelled, 4);
}

TEST_F(process_pool_test, abandoning_imap_early_leaves_the_pool_usable) {
  process_pool pool(2);
  std::vector<int> in(1000, 3);
  {
    auto results = pool.imap(square, in, 1);
    int seen = 0;
    for (int v : results) {
      EXPECT_EQ(v, 9);
      if (++seen == 5) break;
    }
  }
  EXPECT_EQ(pool.submit(square, 6).get(), 36);
}

TEST_F(process_pool_test, prints_its_state) {
  process_pool pool(2);
  (void)pool.submit(square, 2).get();
  std::ostringstream text;
  text << pool;
  EXPECT_NE(text.str().find("workers:2"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("completed:1"), std::string::npos) << text.str();
}

TEST_F(process_pool_test, submits_from_many_threads) {
  process_pool pool(2);
  std::vector<std::thread> threads;
  std::atomic<int> sum{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) sum += pool.submit(square, t).get();
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(sum.load(), 100 * (0 + 1 + 4 + 9));
}

TEST_F(process_pool_test, workers_die_with_a_parent_killed_by_sigkill) {
  int out[2];
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  char helper_flag[] = "--pool-parent-helper";
  char exe[] = "/proc/self/exe";
  char* argv[] = {exe, helper_flag, nullptr};
  pid_t helper = -1;
  ASSERT_EQ(::posix_spawn(&helper, "/proc/self/exe", &actions, nullptr, argv, environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  std::string text;
  char buf[256];
  std::vector<int> worker_pids;
  while (worker_pids.size() < 2) {
    const ssize_t n = ::read(out[0], buf, sizeof buf);
    ASSERT_GT(n, 0) << "helper died before printing its workers";
    text.append(buf, static_cast<std::size_t>(n));
    worker_pids.clear();
    std::size_t pos = 0;
    while (true) {
      const auto nl = text.find('\n', pos);
      if (nl == std::string::npos) break;
      worker_pids.push_back(std::stoi(text.substr(pos, nl - pos)));
      pos = nl + 1;
    }
  }
  ::close(out[0]);
  for (int pid : worker_pids) EXPECT_TRUE(pt::alive(pid));
  // The workers' parent: the helper's fork server, which must not outlive the helper either.
  const int starter = pt::parent_of(worker_pids.front());
  if (starter != helper) worker_pids.push_back(starter);
  ::kill(helper, SIGKILL);
  int status = 0;
  ::waitpid(helper, &status, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (int pid : worker_pids) {
    while (pt::alive(pid) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_FALSE(pt::alive(pid)) << "worker " << pid << " outlived its parent";
  }
}

std::string environment_variable(std::string name) {
  const char* value = std::getenv(name.c_str());
  return value != nullptr ? value : "(unset)";
}
TRIDENT_TASK(environment_variable);

// Workers are forked by one fork server per environment (fork_server.hpp), not executed one
// by one; a pool started after the environment changed gets a new server, so that its workers
// start with the environment of the moment, as executed ones would.
TEST(process_pool_start, workers_come_from_one_fork_server_per_environment) {
  const auto starter_of = [](process_pool& pool) {
    std::set<int> parents;
    for (int pid : pool.statistics().worker_pids) parents.insert(pt::parent_of(pid));
    return parents;
  };
  std::set<int> first;
  {
    process_pool pool(2);
    ASSERT_EQ(pool.submit(square, 3).get(), 9);
    first = starter_of(pool);
    ASSERT_EQ(first.size(), 1u);
    EXPECT_NE(*first.begin(), ::getpid());
    EXPECT_TRUE(pt::is_fork_server(*first.begin()));
  }
  {
    process_pool again(2);
    ASSERT_EQ(again.submit(square, 4).get(), 16);
    EXPECT_EQ(starter_of(again), first) << "a second pool in the same environment reuses the server";
  }
  ::setenv("TRIDENT_TEST_FORK_SERVER_KEY", "changed", 1);
  {
    process_pool changed(1);
    EXPECT_EQ(changed.submit(environment_variable, std::string("TRIDENT_TEST_FORK_SERVER_KEY")).get(), "changed");
    const auto parents = starter_of(changed);
    ASSERT_EQ(parents.size(), 1u);
    EXPECT_NE(parents, first);
    EXPECT_TRUE(pt::is_fork_server(*parents.begin()));
  }
  ::unsetenv("TRIDENT_TEST_FORK_SERVER_KEY");
  ::setenv("TRIDENT_WORKER_START", "exec", 1);
  {
    process_pool executed(1);
    ASSERT_EQ(executed.submit(square, 5).get(), 25);
    for (int pid : executed.statistics().worker_pids) EXPECT_EQ(pt::parent_of(pid), ::getpid());
  }
  ::unsetenv("TRIDENT_WORKER_START");
  EXPECT_EQ(pt::wait_for_children(0), 0u);
}

TEST(process_pool_start, forked_workers_keep_crash_attribution_and_their_own_pids) {
  process_pool pool(2);
  auto crash = pool.submit(segfaults, 1);
  std::set<int> pids;
  for (int i = 0; i < 20; ++i) pids.insert(pool.submit(pid_of_worker, i).get());
  try {
    (void)crash.get();
    FAIL() << "no crash";
  } catch (const trident::proc::worker_crashed_error& e) {
    EXPECT_NE(std::string(e.what()).find("SIGSEGV"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(pids.contains(::getpid()));
  EXPECT_EQ(pool.submit(square, 7).get(), 49);
}

TEST(process_pool_start, forgotten_worker_main_is_a_clear_error_not_a_hang) {
  ::setenv("TRIDENT_TEST_FORGETFUL_MAIN", "exit", 1);
  try {
    process_pool pool(2);
    FAIL() << "started";
  } catch (const trident::proc::worker_start_error& e) {
    EXPECT_NE(std::string(e.what()).find("worker_main(argc, argv)"), std::string::npos) << e.what();
  }
  ::unsetenv("TRIDENT_TEST_FORGETFUL_MAIN");
  EXPECT_EQ(pt::wait_for_children(0), 0u);
}

TEST(process_pool_start, a_worker_that_never_answers_times_out) {
  ::setenv("TRIDENT_TEST_FORGETFUL_MAIN", "hang", 1);
  const auto start = std::chrono::steady_clock::now();
  try {
    process_pool pool(process_pool_options{.workers = 1, .start_timeout = std::chrono::milliseconds(300)});
    FAIL() << "started";
  } catch (const trident::proc::worker_start_error& e) {
    EXPECT_NE(std::string(e.what()).find("handshake"), std::string::npos) << e.what();
  }
  ::unsetenv("TRIDENT_TEST_FORGETFUL_MAIN");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(pt::wait_for_children(0), 0u);
}

TEST(process_pool_start, refuses_inside_a_stray_worker) {
  ::setenv("TRIDENT_WORKER_PENDING", "1", 1);
  try {
    process_pool pool(1);
    FAIL() << "started";
  } catch (const trident::proc::worker_start_error& e) {
    EXPECT_NE(std::string(e.what()).find("worker_main"), std::string::npos);
  }
  ::unsetenv("TRIDENT_WORKER_PENDING");
}

}  // namespace
