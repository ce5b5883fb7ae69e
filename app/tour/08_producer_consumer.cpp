// Lesson Exercise 3 "Producer-Consumer Pipeline": two producers put items into a bounded queue
// (capacity 5), three consumers take them out and process them. The lesson stops its consumers
// with an Event and a one-second polling timeout; a trident::sync::channel is closed instead: once
// the producers are done the channel is closed, consumers drain what is left, and their
// `for (auto& item : ch)` loops end by themselves — no sentinel, no polling.

#include <chrono>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/ostream.h>

#include "cell.hpp"
#include "trident/sync/channel.hpp"
#include "trident/sync/synchronized.hpp"
#include "trident/trace/recorder.hpp"

namespace trident::lesson {
namespace {

struct item {
  std::string id;
  int value = 0;
};

struct tally {
  long long sum = 0;
  std::set<std::string> ids;
};

}  // namespace

std::string producer_consumer(output& out) {
  constexpr int producers = 2;
  constexpr int consumers = 3;
  constexpr int items_per_producer = 6;

  trident::sync::channel<item> queue{5};
  trident::sync::synchronized<tally> produced{trident::sync::lock_name{"produced"}};
  trident::sync::synchronized<tally> processed{trident::sync::lock_name{"processed"}};
  std::random_device seed;

  const auto start = std::chrono::steady_clock::now();
  {
    // Consumers first, so they are ready to work.
    std::vector<std::jthread> consumer_threads;
    for (int c = 0; c < consumers; ++c) {
      consumer_threads.emplace_back([&, c, s = seed()] {
        std::mt19937 rng(s);
        std::uniform_int_distribution<int> work_ms(10, 25);
        for (item& it : queue) {  // ends when the channel is closed and drained
          trace::span span("consume", "lesson", it.id);
          out.line("Consumer {}: Processing {}", c, it.id);
          std::this_thread::sleep_for(std::chrono::milliseconds(work_ms(rng)));
          const int result = it.value * 2;
          out.line("Consumer {}: Completed {} -> {}", c, it.id, result);
          processed.with_lock([&](tally& t) {
            t.sum += result;
            t.ids.insert(it.id);
          });
        }
        out.line("Consumer {}: Finished", c);
      });
    }

    std::vector<std::jthread> producer_threads;
    for (int p = 0; p < producers; ++p) {
      producer_threads.emplace_back([&, p, s = seed()] {
        std::mt19937 rng(s);
        std::uniform_int_distribution<int> value(1, 100);
        std::uniform_int_distribution<int> pause_ms(5, 15);
        for (int i = 0; i < items_per_producer; ++i) {
          item it{fmt::format("P{}-{}", p, i), value(rng)};
          out.line("Producer {}: Creating {} (value {})", p, it.id, it.value);
          produced.with_lock([&](tally& t) {
            t.sum += it.value;
            t.ids.insert(it.id);
          });
          queue.send(std::move(it));  // waits while 5 items are queued
          std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
        }
        out.line("Producer {}: Finished", p);
      });
    }

    producer_threads.clear();  // joins the producers
    queue.close();             // the stop signal: consumers finish what is queued, then end
  }                            // joins the consumers
  const double took = seconds_since(start);

  const tally made = produced.with_lock([](const tally& t) { return t; });
  const tally done = processed.with_lock([](const tally& t) { return t; });
  out.line("=== Pipeline Complete === {} items, sum of results {} in {:.2f}s; {}", done.ids.size(), done.sum, took,
           fmt::streamed(queue));

  const std::string result = fmt::format("{} of {} items processed, sum {} = 2 x {}", done.ids.size(),
                                         producers * items_per_producer, done.sum, made.sum);
  check(done.ids == made.ids, result + ": items lost or processed twice");
  check(done.sum == 2 * made.sum, result + ": wrong sum");
  return result;
}

}  // namespace trident::lesson
