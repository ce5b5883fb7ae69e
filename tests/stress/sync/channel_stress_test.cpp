#include "trident/sync/channel.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

#include "trident/sync/priority_channel.hpp"

// Many producers and consumers push 1,000,000 distinct values through small channels with
// every kind of send and receive mixed, while a consumer closes the channel at a random moment.
// Afterwards every value whose send reported success must have been received exactly once,
// and no value whose send failed may have been received.

namespace {

#if defined(__SANITIZE_THREAD__)
constexpr std::uint32_t kItems = 400'000;  // ThreadSanitizer slows each operation ~5-10x
#else
constexpr std::uint32_t kItems = 1'000'000;
#endif
constexpr unsigned kProducers = 6;
constexpr unsigned kConsumers = 6;

template <class Channel>
struct run_result {
  std::uint64_t accepted = 0;
  std::uint64_t received = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t lost = 0;
  std::uint64_t phantom = 0;  // received although its send failed
  bool channel_balanced = false;
};

/// One run of `items` values: the consumer that receives value number `close_after` closes the
/// channel (never, when `close_after` >= `items`).
template <class Channel>
run_result<Channel> run(std::uint32_t items, std::size_t capacity, std::uint32_t close_after, std::uint32_t seed) {
  Channel ch{capacity};
  std::vector<std::atomic<std::uint8_t>> accepted(items);
  std::vector<std::atomic<std::uint8_t>> received(items);
  std::atomic<std::uint32_t> received_count{0};

  {
    std::vector<std::jthread> threads;
    for (unsigned c = 0; c < kConsumers; ++c) {
      threads.emplace_back([&, c] {
        std::minstd_rand rng{seed * 131 + c};
        for (;;) {
          std::optional<std::uint32_t> v;
          switch (rng() % 3) {
            case 0:
              v = ch.receive();
              if (!v) return;
              break;
            case 1: {
              auto r = ch.receive_for(std::chrono::microseconds(rng() % 200));
              if (r.status == trident::sync::receive_status::closed) return;
              v = std::move(r.value);
              break;
            }
            default: {
              auto r = ch.try_receive();
              if (r.status == trident::sync::receive_status::closed) return;
              if (r.status == trident::sync::receive_status::empty) std::this_thread::yield();
              v = std::move(r.value);
              break;
            }
          }
          if (v) {
            received[*v].fetch_add(1, std::memory_order_relaxed);
            if (received_count.fetch_add(1, std::memory_order_relaxed) + 1 == close_after) {
              ch.close();
            }
          }
        }
      });
    }
    {
      std::vector<std::jthread> producers;
      for (unsigned p = 0; p < kProducers; ++p) {
        producers.emplace_back([&, p] {
          std::minstd_rand rng{seed * 7919 + p};
          for (std::uint32_t v = p; v < items; v += kProducers) {
            trident::sync::send_status status = trident::sync::send_status::ok;
            switch (rng() % 3) {
              case 0:
                try {
                  ch.send(v);
                } catch (const trident::channel_closed_error&) {
                  status = trident::sync::send_status::closed;
                }
                break;
              case 1:
                do {
                  status = ch.send_for(std::uint32_t{v}, std::chrono::microseconds(rng() % 200));
                } while (status == trident::sync::send_status::timeout);
                break;
              default:
                while ((status = ch.try_send(std::uint32_t{v})) == trident::sync::send_status::full) {
                  std::this_thread::yield();
                }
                break;
            }
            if (status == trident::sync::send_status::closed) return;
            ASSERT_EQ(status, trident::sync::send_status::ok);
            accepted[v].store(1, std::memory_order_relaxed);
          }
        });
      }
      producers.clear();  // joins
      ch.close();         // the producers are done (or were refused): let consumers finish
    }
  }

  run_result<Channel> result;
  for (std::uint32_t v = 0; v < items; ++v) {
    const unsigned a = accepted[v].load();
    const unsigned r = received[v].load();
    result.accepted += a;
    result.received += r;
    if (r > 1) ++result.duplicates;
    if (a == 1 && r == 0) ++result.lost;
    if (a == 0 && r != 0) ++result.phantom;
  }
  const trident::sync::channel_statistics s = ch.statistics();
  result.channel_balanced = s.sent == result.accepted && s.received == result.received && s.size == 0 &&
                            s.blocked_senders == 0 && s.blocked_receivers == 0;
  return result;
}

template <class Channel>
class channel_stress : public ::testing::Test {};

using channel_kinds =
    ::testing::Types<trident::sync::channel<std::uint32_t>, trident::sync::priority_channel<std::uint32_t>>;
TYPED_TEST_SUITE(channel_stress, channel_kinds);

TYPED_TEST(channel_stress, every_item_received_exactly_once_without_early_close) {
  const auto r = run<TypeParam>(kItems, 64, kItems + 1, 1);
  EXPECT_EQ(r.accepted, kItems);
  EXPECT_EQ(r.received, kItems);
  EXPECT_EQ(r.duplicates, 0U);
  EXPECT_EQ(r.lost, 0U);
  EXPECT_TRUE(r.channel_balanced);
}

TYPED_TEST(channel_stress, random_close_timing_neither_loses_nor_duplicates) {
  std::mt19937 rng{20240601};
  int closed_early = 0;
  constexpr int kRounds = 4;
  constexpr std::uint32_t kItemsPerRound = kItems / kRounds;
  for (int round = 0; round < kRounds; ++round) {
    const std::uint32_t close_after = 1 + rng() % kItemsPerRound;
    const std::size_t capacity = 1 + rng() % 16;
    SCOPED_TRACE(testing::Message() << "round " << round << ", capacity " << capacity << ", close after " << close_after
                                    << " receives");
    const auto r = run<TypeParam>(kItemsPerRound, capacity, close_after, round + 2);
    EXPECT_EQ(r.duplicates, 0U);
    EXPECT_EQ(r.lost, 0U);
    EXPECT_EQ(r.phantom, 0U);
    EXPECT_EQ(r.accepted, r.received);
    EXPECT_TRUE(r.channel_balanced);
    if (r.accepted < kItemsPerRound) ++closed_early;
  }
  EXPECT_GT(closed_early, 0) << "no round closed the channel while producers were sending";
}

}  // namespace
