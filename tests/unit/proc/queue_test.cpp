#include "trident/proc/queue.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "proc_test_support.hpp"
#include "trident/proc/process.hpp"
#include "trident/proc/process_pool.hpp"

namespace {

using trident::proc::queue;

void produce_numbers(queue<int> q, int first, int count) {
  for (int i = 0; i < count; ++i) q.send(first + i);
}
TRIDENT_TASK(produce_numbers);

void echo_doubled(queue<int> in, queue<int> out) {
  while (auto v = in.receive()) out.send(*v * 2);
  out.close();
}
TRIDENT_TASK(echo_doubled);

int takes_a_queue(queue<int> q) { return static_cast<int>(q.size()); }
TRIDENT_TASK(takes_a_queue);

TEST(proc_queue, fifo_within_one_process) {
  queue<std::string> q(4);
  EXPECT_EQ(q.try_send("a"), trident::sync::send_status::ok);
  q.send("b");
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.receive(), "a");
  EXPECT_EQ(q.try_receive().value, "b");
  EXPECT_EQ(q.try_receive().status, trident::sync::receive_status::empty);
}

TEST(proc_queue, bounded_send_times_out_when_full) {
  queue<int> q(2);
  q.send(1);
  q.send(2);
  EXPECT_EQ(q.try_send(3), trident::sync::send_status::full);
  EXPECT_EQ(q.send_for(3, std::chrono::milliseconds(20)), trident::sync::send_status::timeout);
  EXPECT_EQ(q.receive_for(std::chrono::milliseconds(1)).value, 1);
}

TEST(proc_queue, receive_times_out_when_empty) {
  queue<int> q(2);
  const auto r = q.receive_for(std::chrono::milliseconds(20));
  EXPECT_EQ(r.status, trident::sync::receive_status::timeout);
  EXPECT_FALSE(r.has_value());
  EXPECT_FALSE(q.closed());
}

TEST(proc_queue, non_waiting_and_timed_forms_report_closed_without_throwing) {
  queue<int> q(2);
  q.send(1);
  q.close();
  EXPECT_EQ(q.try_send(2), trident::sync::send_status::closed);
  EXPECT_EQ(q.send_for(2, std::chrono::milliseconds(1)), trident::sync::send_status::closed);
  EXPECT_EQ(q.receive_for(std::chrono::milliseconds(1)).value, 1);  // drained first
  EXPECT_EQ(q.try_receive().status, trident::sync::receive_status::closed);
  EXPECT_EQ(q.receive_for(std::chrono::milliseconds(1)).status, trident::sync::receive_status::closed);
}

TEST(proc_queue, close_drains_then_ends_consumers_and_refuses_producers) {
  queue<int> q(8);
  q.send(1);
  q.send(2);
  q.close();
  EXPECT_THROW(q.send(3), trident::channel_closed_error);
  EXPECT_EQ(q.receive(), 1);
  EXPECT_EQ(q.receive(), 2);
  EXPECT_FALSE(q.receive().has_value());
}

TEST(proc_queue, close_wakes_a_blocked_consumer) {
  queue<int> q(1);
  std::thread t([&] { EXPECT_FALSE(q.receive().has_value()); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  q.close();
  t.join();
}

TEST(proc_queue, oversized_message_is_refused) {
  queue<std::string> q(2, 16);
  EXPECT_THROW(q.send(std::string(100, 'x')), std::length_error);
  q.send("short");
  EXPECT_EQ(q.receive(), "short");
}

TEST(proc_queue, many_threads_many_items) {
  queue<int> q(16);
  std::atomic<long> sum{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < 3; ++p)
    threads.emplace_back([&, p] {
      for (int i = 0; i < 2000; ++i) q.send(p * 10000 + i);
    });
  std::vector<std::thread> consumers;
  for (int c = 0; c < 3; ++c)
    consumers.emplace_back([&] {
      while (auto v = q.receive()) sum += *v;
    });
  for (auto& t : threads) t.join();
  q.close();
  for (auto& t : consumers) t.join();
  long expect = 0;
  for (int p = 0; p < 3; ++p)
    for (int i = 0; i < 2000; ++i) expect += p * 10000 + i;
  EXPECT_EQ(sum.load(), expect);
}

TEST(proc_queue, producers_in_other_processes) {
  queue<int> q(8);
  trident::proc::process a(produce_numbers, q, 0, 500);
  trident::proc::process b(produce_numbers, q, 1000, 500);
  a.start();
  b.start();
  long sum = 0;
  for (int i = 0; i < 1000; ++i) sum += *q.receive();
  a.join();
  b.join();
  EXPECT_EQ(a.exitcode(), 0);
  EXPECT_EQ(b.exitcode(), 0);
  long expect = 0;
  for (int i = 0; i < 500; ++i) expect += i + 1000 + i;
  EXPECT_EQ(sum, expect);
  EXPECT_EQ(trident::proc::testing::children().size(), 0u);
}

TEST(proc_queue, a_child_consumes_until_close) {
  queue<int> in(4);
  queue<int> out(4);
  trident::proc::process p(echo_doubled, in, out);
  p.start();
  std::thread feeder([&] {
    for (int i = 1; i <= 100; ++i) in.send(i);
    in.close();
  });
  long sum = 0;
  while (auto v = out.receive()) sum += *v;
  feeder.join();
  p.join();
  EXPECT_EQ(sum, 2 * 5050);
  EXPECT_EQ(p.exitcode(), 0);
}

TEST(proc_queue, cannot_be_sent_to_a_pool_task) {
  trident::proc::process_pool pool(1);
  queue<int> q(1);
  EXPECT_THROW((void)pool.submit(takes_a_queue, q), std::logic_error);
}

}  // namespace
