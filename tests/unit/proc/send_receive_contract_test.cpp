// One test body for every queue a coroutine can send on and receive from: `trident::sync::channel`,
// `aio::queue` and `proc::queue` answer `co_await aio::send(q, v)`, `co_await aio::receive(q)`,
// `try_send` and `try_receive` the same way (docs/aio.md, "One verb pair for every queue").
// `priority_channel` is left out: its receive order differs by design. Lives with the proc tests
// because proc is the highest layer of the three.
#include "trident/proc/run_in.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <optional>

#include "trident/aio/channel_ends.hpp"
#include "trident/aio/queue.hpp"
#include "trident/aio/run.hpp"
#include "trident/sync/channel.hpp"

namespace {

namespace aio = trident::aio;
using trident::sync::receive_status;
using trident::sync::send_status;

struct sync_channel {
  using type = trident::sync::channel<int>;
  static std::unique_ptr<type> make(std::size_t capacity) { return std::make_unique<type>(capacity); }
};
struct aio_queue {
  using type = aio::fifo_queue<int>;
  static std::unique_ptr<type> make(std::size_t capacity) { return std::make_unique<type>(capacity); }
};
struct proc_queue {
  using type = trident::proc::queue<int>;
  static std::unique_ptr<type> make(std::size_t capacity) { return std::make_unique<type>(capacity); }
};

template <class Kind>
class send_receive_contract : public ::testing::Test {
 protected:
  std::unique_ptr<typename Kind::type> q_ = Kind::make(1);
};

using kinds = ::testing::Types<sync_channel, aio_queue, proc_queue>;
TYPED_TEST_SUITE(send_receive_contract, kinds);

// Awaitables are named before `co_await` throughout: g++ 12 miscompiles a temporary with a
// non-trivial destructor in a co_await operand (docs/aio.md, "A g++ 12 bug to know about").

TYPED_TEST(send_receive_contract, a_value_sent_is_the_value_received) {
  auto& q = *this->q_;
  const auto got = aio::run([&]() -> aio::task<std::optional<int>> {
    auto send = aio::send(q, 42);
    co_await send;
    auto receive = aio::receive(q);
    co_return co_await receive;
  }());
  EXPECT_EQ(got, 42);
}

TYPED_TEST(send_receive_contract, receive_after_close_drains_then_gives_nullopt) {
  auto& q = *this->q_;
  aio::run([&]() -> aio::task<void> {
    auto send = aio::send(q, 7);
    co_await send;
    q.close();
    auto first = aio::receive(q);
    EXPECT_EQ(co_await first, 7);
    auto second = aio::receive(q);
    EXPECT_EQ(co_await second, std::nullopt);
    auto third = aio::receive(q);
    EXPECT_EQ(co_await third, std::nullopt);
  }());
}

TYPED_TEST(send_receive_contract, send_after_close_throws_channel_closed_error) {
  auto& q = *this->q_;
  q.close();
  aio::run([&]() -> aio::task<void> {
    auto send = aio::send(q, 1);
    EXPECT_THROW(co_await send, trident::channel_closed_error);
  }());
}

TYPED_TEST(send_receive_contract, try_forms_report_ok_full_empty_and_closed) {
  auto& q = *this->q_;  // capacity 1
  EXPECT_EQ(q.try_send(1), send_status::ok);
  EXPECT_EQ(q.try_send(2), send_status::full);
  auto r = q.try_receive();
  EXPECT_EQ(r.status, receive_status::ok);
  EXPECT_EQ(r.value, 1);
  EXPECT_EQ(q.try_receive().status, receive_status::empty);
  EXPECT_EQ(q.try_send(3), send_status::ok);
  q.close();
  EXPECT_EQ(q.try_send(4), send_status::closed);
  EXPECT_EQ(q.try_receive().value, 3);  // drained after close
  const auto closed = q.try_receive();
  EXPECT_EQ(closed.status, receive_status::closed);
  EXPECT_FALSE(closed.has_value());
}

}  // namespace
