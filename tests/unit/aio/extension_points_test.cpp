// aio's verbs on types aio has never heard of: `aio::run_in` on any executor whose `submit`
// returns a `trident::exec::future`, and `aio::receive` / `aio::send` on any queue whose waits are found
// by argument-dependent lookup (aio/lowlevel/waitable_queue.hpp). The process and cluster layers
// plug in this way instead of adding overloads to `trident::aio`; here a user's types do.
#include "trident/aio/lowlevel/waitable_queue.hpp"
#include "trident/aio/run_in.hpp"

#include <gtest/gtest.h>

#include <coroutine>
#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "trident/aio/event_loop.hpp"
#include "trident/aio/gather.hpp"
#include "trident/aio/run.hpp"
#include "trident/core/errors.hpp"
#include "trident/exec/future.hpp"

namespace users {

/// Runs each call at once on the caller's thread and counts them: an executor aio does not know.
struct inline_executor {
  int calls = 0;
  template <class F, class... Args>
  trident::exec::future<int> submit(F&& fn, Args&&... args) {
    ++calls;
    trident::exec::promise<int> p;
    auto f = p.get_future();
    p.set_value(std::forward<F>(fn)(std::forward<Args>(args)...));
    return f;
  }
};

int twice(int x) { return 2 * x; }

/// A bounded queue for one loop; its waits yield one loop step, and count how often they did.
struct mailbox {
  using value_type = std::string;
  std::size_t capacity = 1;
  std::deque<std::string> items;
  bool closed = false;
  int waits = 0;

  trident::sync::receive_result<std::string> try_receive() {
    if (items.empty()) {
      return {closed ? trident::sync::receive_status::closed : trident::sync::receive_status::empty, {}};
    }
    trident::sync::receive_result<std::string> r{trident::sync::receive_status::ok, std::move(items.front())};
    items.pop_front();
    return r;
  }
  trident::sync::send_status try_send(const std::string& v) {
    if (closed) return trident::sync::send_status::closed;
    if (items.size() == capacity) return trident::sync::send_status::full;
    items.push_back(v);
    return trident::sync::send_status::ok;
  }
};

/// Resumes on the loop's next step (a spurious wake-up is allowed: the verbs try again).
struct next_step {
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) const { trident::aio::event_loop::running().schedule(h); }
  void await_resume() const noexcept {}
};

// Found by argument-dependent lookup from aio::receive / aio::send: nothing added to trident::aio.
next_step wait_receivable(mailbox& m) {
  ++m.waits;
  return {};
}
next_step wait_sendable(mailbox& m) {
  ++m.waits;
  return {};
}

}  // namespace users

namespace trident::aio {
namespace {

static_assert(lowlevel::waitable_queue<users::mailbox>);
static_assert(!lowlevel::waitable_queue<std::vector<int>>);
static_assert(future_executor<users::inline_executor, int (&)(int), int>);

TEST(aio_extension_points, run_in_awaits_any_executor_whose_submit_returns_a_future) {
  users::inline_executor executor;
  const int result = run([&]() -> task<int> { co_return co_await run_in(executor, users::twice, 21); }());
  EXPECT_EQ(result, 42);
  EXPECT_EQ(executor.calls, 1);
}

TEST(aio_extension_points, receive_and_send_wait_through_the_queues_own_hooks) {
  users::mailbox box;  // room for one: the producer waits while the consumer has not taken it
  auto producer = [&]() -> task<std::size_t> {
    for (const char* word : {"one", "two", "three"}) {
      auto put = send(box, word);  // named: g++ 12 and temporaries in co_await (README)
      co_await put;
    }
    box.closed = true;
    co_return 3;
  };
  std::vector<std::string> received;
  auto consumer = [&]() -> task<std::size_t> {
    for (;;) {
      auto next = receive(box);
      std::optional<std::string> v = co_await next;
      if (!v) break;
      received.push_back(*v);
    }
    co_return received.size();
  };
  auto counts = run([&]() -> task<std::vector<std::size_t>> {
    std::vector<task<std::size_t>> both;
    both.push_back(consumer());
    both.push_back(producer());
    co_return co_await gather(std::move(both));
  }());
  EXPECT_EQ(counts, (std::vector<std::size_t>{3, 3}));
  EXPECT_EQ(received, (std::vector<std::string>{"one", "two", "three"}));
  EXPECT_GT(box.waits, 0);  // the consumer found the box empty at least once, and waited on its hook
}

TEST(aio_extension_points, send_on_a_closed_queue_throws_and_delivers_nothing) {
  users::mailbox box;
  box.closed = true;
  EXPECT_THROW(run([&]() -> task<void> {
                 auto put = send(box, "late");
                 co_await put;
               }()),
               channel_closed_error);
  EXPECT_TRUE(box.items.empty());
}

}  // namespace
}  // namespace trident::aio
