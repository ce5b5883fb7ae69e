#include "trident/proc/process.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "proc_test_support.hpp"

namespace {

void finishes(int) {}
TRIDENT_TASK(finishes);

void throws_runtime(int) { throw std::runtime_error("on purpose"); }
TRIDENT_TASK(throws_runtime);

void sleeps_forever(int) { std::this_thread::sleep_for(std::chrono::minutes(5)); }
TRIDENT_TASK(sleeps_forever);

void exits_with(int code) { std::_Exit(code); }
TRIDENT_TASK(exits_with);

namespace pt = trident::proc::testing;
using trident::proc::process;

TEST(process, runs_and_exits_zero) {
  process p(finishes, 1);
  EXPECT_EQ(p.pid(), -1);
  EXPECT_FALSE(p.exitcode().has_value());
  p.start();
  EXPECT_GT(p.pid(), 0);
  EXPECT_TRUE(p.join());
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_EQ(pt::children().size(), 0u);
}

TEST(process, exception_is_exit_code_one) {
  process p(throws_runtime, 1);
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 1);
}

TEST(process, exit_status_is_reported) {
  process p(exits_with, 7);
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 7);
}

TEST(process, join_times_out_then_terminate_and_kill_work) {
  process p(sleeps_forever, 0);
  p.start();
  EXPECT_FALSE(p.join(std::chrono::milliseconds(50)));
  EXPECT_TRUE(p.is_alive());
  p.terminate();
  EXPECT_TRUE(p.join(std::chrono::seconds(10)));
  EXPECT_EQ(p.exitcode(), -SIGTERM);

  process q(sleeps_forever, 0);
  q.start();
  q.kill();
  q.join();
  EXPECT_EQ(q.exitcode(), -SIGKILL);
  EXPECT_EQ(pt::children().size(), 0u);
}

TEST(process, destroying_a_running_process_kills_and_reaps_it) {
  {
    process p(sleeps_forever, 0);
    p.start();
  }
  EXPECT_EQ(pt::children().size(), 0u);
}

TEST(process, move_assigning_over_a_running_process_kills_and_reaps_it) {
  const std::size_t before = pt::children().size();
  process p(sleeps_forever, 0);
  p.start();
  ASSERT_EQ(pt::children().size(), before + 1);
  p = process(finishes, 0);  // not started: nothing runs after the assignment
  EXPECT_EQ(pt::children().size(), before);
  EXPECT_EQ(p.pid(), -1);
}

TEST(process, start_twice_is_an_error) {
  process p(finishes, 0);
  p.start();
  EXPECT_THROW(p.start(), std::logic_error);
  p.join();
}

}  // namespace
