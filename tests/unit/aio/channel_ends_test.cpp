#include "trident/aio/channel_ends.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "trident/aio/gather.hpp"
#include "trident/aio/run.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/aio/spawn.hpp"
#include "trident/sync/channel.hpp"
#include "trident/sync/priority_channel.hpp"

namespace trident::aio {
namespace {

using namespace std::chrono_literals;

TEST(channel_ends, coroutine_receives_everything_a_thread_sends) {
  trident::sync::channel<int> ch(4);
  std::thread producer([&] {
    for (int i = 1; i <= 1000; ++i) ch.send(i);
    ch.close();
  });
  const long sum = run([&]() -> task<long> {
    long total = 0;
    while (auto v = co_await receive(ch)) total += *v;
    co_return total;
  }());
  producer.join();
  EXPECT_EQ(sum, 1000L * 1001 / 2);
}

TEST(channel_ends, coroutine_sends_with_back_pressure_to_a_thread) {
  trident::sync::channel<int> ch(2);
  long received = 0;
  std::thread consumer([&] {
    while (auto v = ch.receive()) received += *v;
  });
  run([&]() -> task<void> {
    for (int i = 1; i <= 1000; ++i) co_await send(ch, i);
    ch.close();
  }());
  consumer.join();
  EXPECT_EQ(received, 1000L * 1001 / 2);
}

TEST(channel_ends, tasks_on_one_loop_hand_values_to_each_other) {
  trident::sync::channel<int> ch(1);
  auto producer = [&]() -> task<int> {
    for (int i = 0; i < 100; ++i) co_await send(ch, i);
    ch.close();
    co_return 0;
  };
  auto consumer = [&]() -> task<int> {
    int n = 0;
    while (co_await receive(ch)) ++n;
    co_return n;
  };
  auto counts = run([&]() -> task<std::vector<int>> {
    std::vector<task<int>> ts;
    ts.push_back(consumer());
    ts.push_back(producer());
    co_return co_await gather(std::move(ts));
  }());
  EXPECT_EQ(counts[0], 100);
}

TEST(channel_ends, cancelled_receive_loses_no_value) {
  trident::sync::channel<int> ch(1);
  auto waiter = [&]() -> task<void> { (void)co_await receive(ch); };
  auto got = run([&]() -> task<std::optional<int>> {
    auto h = spawn(waiter());
    co_await sleep(0ms);  // the waiter is now linked in the channel
    h.cancel();
    EXPECT_THROW(co_await h, cancelled_error);
    ch.send(42);  // goes to the buffer, not to the cancelled waiter
    co_return co_await receive(ch);
  }());
  EXPECT_EQ(got, 42);
}

TEST(channel_ends, send_on_a_closed_channel_throws_and_receive_ends) {
  trident::sync::channel<int> ch(1);
  ch.close();
  EXPECT_THROW(run([&]() -> task<void> { co_await send(ch, 1); }()), channel_closed_error);
  EXPECT_EQ(run([&]() -> task<std::optional<int>> { co_return co_await receive(ch); }()), std::nullopt);
}

TEST(channel_ends, closing_wakes_a_blocked_sender_with_an_error) {
  trident::sync::channel<int> ch(1);
  ch.send(0);  // full
  auto sender = [&]() -> task<void> { co_await send(ch, 1); };
  run([&]() -> task<void> {
    auto h = spawn(sender());
    co_await sleep(0ms);
    ch.close();
    EXPECT_THROW(co_await h, channel_closed_error);
  }());
}

TEST(channel_ends, priority_channel_gives_largest_first_to_a_coroutine) {
  trident::sync::priority_channel<int> ch(8);
  for (int v : {3, 9, 1, 7}) ch.send(v);
  ch.close();
  auto order = run([&]() -> task<std::vector<int>> {
    std::vector<int> out;
    while (auto v = co_await receive(ch)) out.push_back(*v);
    co_return out;
  }());
  EXPECT_EQ(order, (std::vector<int>{9, 7, 3, 1}));
}

}  // namespace
}  // namespace trident::aio
