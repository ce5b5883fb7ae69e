#include "trident/aio/async_generator.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "trident/aio/run.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/aio/spawn.hpp"

namespace trident::aio {
namespace {

using namespace std::chrono_literals;

async_generator<std::string> chunks(std::string text, std::size_t n) {
  for (std::size_t i = 0; i < text.size(); i += n) {
    co_await sleep(0ms);
    co_yield text.substr(i, n);
  }
}

async_generator<int> count_to(int n) {
  for (int i = 1; i <= n; ++i) co_yield i;
}

TEST(async_generator, iterates_the_yielded_values_in_order_across_awaits) {
  auto got = run([]() -> task<std::vector<std::string>> {
    std::vector<std::string> out;
    auto gen = chunks("hello world", 4);
    for (auto it = co_await gen.begin(); it != gen.end(); co_await ++it) out.push_back(*it);
    co_return out;
  }());
  EXPECT_EQ(got, (std::vector<std::string>{"hell", "o wo", "rld"}));
}

TEST(async_generator, next_returns_values_then_nullopt) {
  run([]() -> task<void> {
    auto gen = count_to(3);
    std::vector<int> got;
    while (auto v = co_await gen.next()) got.push_back(*v);
    EXPECT_EQ(got, (std::vector<int>{1, 2, 3}));
    EXPECT_EQ(co_await gen.next(), std::nullopt);
  }());
}

TEST(async_generator, body_runs_only_when_asked) {
  int produced = 0;
  auto body = [&]() -> async_generator<int> {
    for (int i = 0; i < 3; ++i) {
      ++produced;
      co_yield i;
    }
  };
  run([&]() -> task<void> {
    auto gen = body();
    EXPECT_EQ(produced, 0);
    auto it = co_await gen.begin();
    EXPECT_EQ(produced, 1);
    EXPECT_EQ(*it, 0);
    co_await ++it;
    EXPECT_EQ(produced, 2);
  }());  // destroyed mid-way: fine
  EXPECT_EQ(produced, 2);
}

TEST(async_generator, empty_generator_begins_at_end) {
  run([]() -> task<void> {
    auto gen = count_to(0);
    auto it = co_await gen.begin();
    EXPECT_TRUE(it == gen.end());
    EXPECT_THROW((void)gen.begin(), std::logic_error);
  }());
}

TEST(async_generator, exception_in_the_body_reaches_the_consumer) {
  auto failing = []() -> async_generator<int> {
    co_yield 1;
    throw std::runtime_error("boom");
  };
  run([&]() -> task<void> {
    auto gen = failing();
    auto it = co_await gen.begin();
    EXPECT_EQ(*it, 1);
    EXPECT_THROW(co_await ++it, std::runtime_error);
    EXPECT_TRUE(it == gen.end());
  }());
}

TEST(async_generator, cancelling_the_consumer_unwinds_the_body_at_its_await) {
  bool body_unwound = false;
  int consumed = 0;
  auto slow = [&]() -> async_generator<int> {
    struct on_exit {
      bool* flag;
      ~on_exit() { *flag = true; }
    } guard{&body_unwound};
    co_yield 1;
    co_await sleep(1h);
    co_yield 2;
  };
  auto consumer = [&]() -> task<void> {
    auto gen = slow();
    for (auto it = co_await gen.begin(); it != gen.end(); co_await ++it) ++consumed;
  };
  run([&]() -> task<void> {
    auto h = spawn(consumer());
    for (int i = 0; i < 4; ++i) co_await sleep(0ms);
    h.cancel();
    co_await h.wait();
    EXPECT_TRUE(h.cancelled());
  }());
  EXPECT_TRUE(body_unwound);
  EXPECT_EQ(consumed, 1);
}

TEST(async_generator, long_synchronous_generator_does_not_grow_the_stack) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // As in task_test: g++'s sanitizer instrumentation keeps symmetric transfer from being a tail
  // call, so each value costs native frames there; check at a length that fits.
  constexpr long n = 2'000;
#else
  constexpr long n = 200'000;
#endif
  auto total = run([]() -> task<long> {
    auto gen = count_to(static_cast<int>(n));
    long sum = 0;
    for (auto it = co_await gen.begin(); it != gen.end(); co_await ++it) sum += *it;
    co_return sum;
  }());
  EXPECT_EQ(total, n * (n + 1) / 2);
}

}  // namespace
}  // namespace trident::aio
