#include "trident/aio/run.hpp"
#include "trident/proc/run_in.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "trident/aio/gather.hpp"
#include "trident/aio/spawn.hpp"

namespace {

using namespace std::chrono_literals;
namespace aio = trident::aio;

int cube(int x) { return x * x * x; }
TRIDENT_TASK(cube);

int nap_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}
TRIDENT_TASK(nap_ms);

int fails(int) { throw std::out_of_range("nope"); }
TRIDENT_TASK(fails);

TEST(proc_run_in, awaits_a_worker_result_on_the_loop) {
  trident::proc::process_pool pool(2);
  auto main_task = [&]() -> aio::task<int> {
    std::vector<aio::task<int>> parts;
    auto one = [&](int i) -> aio::task<int> { co_return co_await aio::run_in(pool, cube, i); };
    for (int i = 1; i <= 4; ++i) parts.push_back(one(i));
    int sum = 0;
    for (int v : co_await aio::gather(std::move(parts))) sum += v;
    co_return sum;
  };
  EXPECT_EQ(aio::run(main_task()), 1 + 8 + 27 + 64);
}

TEST(proc_run_in, the_loop_keeps_running_while_a_worker_computes) {
  trident::proc::process_pool pool(1);
  int ticks = 0;
  auto main_task = [&]() -> aio::task<int> {
    auto ticker = [&]() -> aio::task<void> {
      for (int i = 0; i < 5; ++i) {
        co_await aio::sleep(10ms);
        ++ticks;
      }
    };
    auto work = [&]() -> aio::task<int> { co_return co_await aio::run_in(pool, nap_ms, 200); };
    auto [a, b] = co_await aio::gather(work(), ticker());
    (void)b;
    co_return a;
  };
  EXPECT_EQ(aio::run(main_task()), 200);
  EXPECT_EQ(ticks, 5);
}

TEST(proc_run_in, cancelling_the_waiting_task_resumes_it_at_once) {
  trident::proc::process_pool pool(1);
  auto main_task = [&]() -> aio::task<bool> {
    auto waiter = [&]() -> aio::task<int> { co_return co_await aio::run_in(pool, nap_ms, 600); };
    auto handle = aio::spawn(waiter());
    co_await aio::sleep(50ms);
    const auto start = std::chrono::steady_clock::now();
    handle.cancel();
    try {
      (void)co_await handle;
    } catch (const trident::cancelled_error&) {
      co_return std::chrono::steady_clock::now() - start < std::chrono::milliseconds(400);
    }
    co_return false;
  };
  EXPECT_TRUE(aio::run(main_task()));
  EXPECT_EQ(pool.submit(cube, 2).get(), 8);
}

TEST(proc_run_in, remote_exception_reaches_the_coroutine) {
  trident::proc::process_pool pool(1);
  auto main_task = [&]() -> aio::task<std::string> {
    try {
      co_await aio::run_in(pool, fails, 1);
    } catch (const trident::proc::remote_error& e) {
      co_return e.type_name();
    }
    co_return "none";
  };
  EXPECT_EQ(aio::run(main_task()), "std::out_of_range");
}

TEST(proc_run_in, queue_get_does_not_block_the_loop_and_ends_on_close) {
  trident::proc::queue<int> q(4);
  auto main_task = [&]() -> aio::task<int> {
    auto consumer = [&]() -> aio::task<int> {
      int sum = 0;
      while (auto v = co_await aio::queue_get(q)) sum += *v;
      co_return sum;
    };
    auto producer = [&]() -> aio::task<void> {
      for (int i = 1; i <= 10; ++i) {
        co_await aio::queue_put(q, i);
        co_await aio::sleep(1ms);
      }
      q.close();
    };
    auto [sum, done] = co_await aio::gather(consumer(), producer());
    (void)done;
    co_return sum;
  };
  EXPECT_EQ(aio::run(main_task()), 55);
}

}  // namespace
