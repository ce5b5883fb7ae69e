#include "trident/aio/run.hpp"
#include "trident/proc/run_in.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include "trident/aio/gather.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/aio/spawn.hpp"
#include "trident/proc/process.hpp"

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

TEST(proc_run_in, queue_receive_does_not_block_the_loop_and_ends_on_close) {
  trident::proc::queue<int> q(4);
  auto main_task = [&]() -> aio::task<int> {
    auto consumer = [&]() -> aio::task<int> {
      int sum = 0;
      for (;;) {
        auto next = aio::receive(q);  // named: g++ 12 and temporaries in co_await (docs/aio.md)
        auto v = co_await next;
        if (!v) break;
        sum += *v;
      }
      co_return sum;
    };
    auto producer = [&]() -> aio::task<void> {
      for (int i = 1; i <= 10; ++i) {
        auto send = aio::send(q, i);
        co_await send;
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

/// Waits (yielding the thread, no timed sleep) until `ready()`; the test's ctest timeout bounds it.
template <class Ready>
void spin_until(Ready ready) {
  while (!ready()) std::this_thread::yield();
}

TEST(proc_queue_receive, a_waiting_coroutine_is_woken_once_per_value_from_another_thread_never_by_a_poll) {
  trident::proc::queue<int> q(4);
  std::thread producer([&] {
    for (int i = 1; i <= 3; ++i) {
      // Send only once the previous value is taken and the coroutine's watcher sleeps on the
      // queue again: each value must be what wakes it. The watcher counts itself asleep just
      // before its last look at the ring, then waits on the futex; a value sent in between is
      // found by that look and wakes nothing. So after it counts itself asleep, give it time to
      // reach the wait (it has a few instructions to run) and check that it is still asleep.
      for (;;) {
        spin_until([&] { return q.size() == 0 && q.statistics().sleeping_watchers == 1; });
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        if (q.size() == 0 && q.statistics().sleeping_watchers == 1) break;
      }
      q.send(i);
    }
  });
  auto consumer = [&]() -> aio::task<int> {
    int sum = 0;
    for (int i = 0; i < 3; ++i) {
      auto next = aio::receive(q);
      auto v = co_await next;
      sum += v.value_or(-100);
    }
    co_return sum;
  };
  EXPECT_EQ(aio::run(consumer()), 6);
  producer.join();
  const auto stats = q.statistics();
  EXPECT_EQ(stats.watcher_wakeups, 3u);  // one per value: no slices of polling in between
  EXPECT_EQ(stats.waiting_coroutines, 0u);
}

void send_numbers(trident::proc::queue<int> q, int count) {
  for (int i = 1; i <= count; ++i) q.send(i);
  q.close();
}
TRIDENT_TASK(send_numbers);

TEST(proc_queue_receive, a_coroutine_receives_everything_another_process_sends_then_nullopt) {
  trident::proc::queue<int> q(4);
  trident::proc::process child(send_numbers, q, 200);
  child.start();
  auto consumer = [&]() -> aio::task<long> {
    long sum = 0;
    for (;;) {
      auto next = aio::receive(q);
      auto v = co_await next;
      if (!v) break;
      sum += *v;
    }
    co_return sum;
  };
  EXPECT_EQ(aio::run(consumer()), 200 * 201 / 2);
  child.join();
  EXPECT_EQ(child.exitcode(), 0);
}

TEST(proc_queue_receive, cancelling_a_waiting_receive_takes_nothing_and_releases_the_watcher) {
  trident::proc::queue<int> q(4);
  auto waiter = [&]() -> aio::task<std::optional<int>> {
    auto next = aio::receive(q);
    co_return co_await next;
  };
  aio::run([&]() -> aio::task<void> {
    auto h = aio::spawn(waiter());
    while (q.statistics().waiting_coroutines == 0) co_await aio::sleep(0ms);
    h.cancel();
    EXPECT_THROW(co_await h, trident::cancelled_error);
    EXPECT_EQ(q.statistics().waiting_coroutines, 0u);
    q.send(7);
    EXPECT_EQ(q.try_receive().value, 7);  // the cancelled receive took nothing
  }());
  // The watcher was poked: it no longer counts as a sleeper, so senders wake one thread again.
  spin_until([&] { return q.statistics().sleeping_watchers == 0; });
}

TEST(proc_queue_send, a_coroutine_waits_for_room_and_its_value_arrives_once) {
  trident::proc::queue<int> q(1);
  q.send(1);
  std::thread consumer([&] {
    spin_until([&] { return q.statistics().sleeping_watchers == 1; });
    EXPECT_EQ(q.receive(), 1);
    EXPECT_EQ(q.receive(), 2);
  });
  aio::run([&]() -> aio::task<void> {
    auto send = aio::send(q, 2);
    co_await send;
  }());
  consumer.join();
  EXPECT_EQ(q.try_receive().status, trident::sync::receive_status::empty);
}

TEST(proc_queue_close, close_wakes_a_waiting_receiver_with_nullopt_and_a_waiting_sender_with_closed) {
  trident::proc::queue<int> empty_q(1);
  trident::proc::queue<int> full_q(1);
  full_q.send(0);
  std::thread closer([&] {
    spin_until(
        [&] { return empty_q.statistics().waiting_coroutines == 1 && full_q.statistics().waiting_coroutines == 1; });
    empty_q.close();
    full_q.close();
  });
  bool receiver_ended = false;
  bool sender_refused = false;
  auto receiver = [&]() -> aio::task<void> {
    auto next = aio::receive(empty_q);
    auto v = co_await next;
    receiver_ended = !v.has_value();
  };
  auto sender = [&]() -> aio::task<void> {
    try {
      auto send = aio::send(full_q, 1);
      co_await send;
    } catch (const trident::channel_closed_error&) {
      sender_refused = true;
    }
  };
  aio::run([&]() -> aio::task<void> {
    auto r = aio::spawn(receiver());
    auto s = aio::spawn(sender());
    co_await r;
    co_await s;
  }());
  closer.join();
  EXPECT_TRUE(receiver_ended);
  EXPECT_TRUE(sender_refused);
  EXPECT_EQ(full_q.try_receive().value, 0);  // what was in stays receivable
}

}  // namespace
