#include "trident/aio/lowlevel/run_on.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "trident/aio/gather.hpp"
#include "trident/aio/lowlevel/loop_thread.hpp"
#include "trident/aio/run.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/aio/spawn.hpp"
#include "trident/core/errors.hpp"

namespace trident::aio {
namespace {

using namespace std::chrono_literals;
using lowlevel::loop_thread;
using lowlevel::run_on;

/// Suspends the calling task until `flag` holds (polled on the loop's clock, so the loop keeps
/// running its other tasks).
task<void> until(const std::atomic<bool>& flag) {
  while (!flag.load()) co_await sleep(1ms);
}

// -- loop_thread ----------------------------------------------------------------------------

TEST(loop_thread, call_runs_the_function_on_the_loop_thread_and_returns_its_value) {
  loop_thread target("test loop");
  EXPECT_NE(target.id(), std::this_thread::get_id());
  const auto [thread, inside_loop] = target.call([] {
    return std::pair{std::this_thread::get_id(), event_loop::current() != nullptr};
  });
  EXPECT_EQ(thread, target.id());
  EXPECT_TRUE(inside_loop);  // state made by `call` may register with the running loop
  int n = 0;
  target.call([&n] { n = 5; });  // void works too, and the write is seen after the call
  EXPECT_EQ(n, 5);
}

TEST(loop_thread, call_rethrows_the_exception_of_the_function) {
  loop_thread target;
  try {
    target.call([]() -> int { throw std::runtime_error("refused on the loop thread"); });
    FAIL() << "call returned";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "refused on the loop thread");
  }
  EXPECT_EQ(target.call([] { return 3; }), 3);  // the loop goes on serving
}

TEST(loop_thread, call_on_the_loop_s_own_thread_is_refused_instead_of_waiting_forever) {
  loop_thread target;
  auto nested = [&target] { return target.call([] { return 1; }); };
  EXPECT_THROW(target.call(nested), std::logic_error);
}

TEST(loop_thread, the_constructor_rethrows_what_kept_the_loop_from_starting) {
  const char* before = std::getenv("TRIDENT_LOOP_BACKEND");
  const std::optional<std::string> saved = before != nullptr ? std::optional<std::string>(before) : std::nullopt;
  ::setenv("TRIDENT_LOOP_BACKEND", "no-such-backend", 1);
  EXPECT_THROW(loop_thread target, std::invalid_argument);
  if (saved) {
    ::setenv("TRIDENT_LOOP_BACKEND", saved->c_str(), 1);
  } else {
    ::unsetenv("TRIDENT_LOOP_BACKEND");
  }
}

TEST(loop_thread, the_destructor_cancels_the_tasks_still_running_there_and_runs_their_cleanup_on_its_thread) {
  std::atomic<bool> started{false};
  std::thread::id cleaned_up_on;
  std::thread::id loop_id;
  {
    auto forever = [&]() -> task<void> {  // before `target`: it outlives the task
      struct cleanup {
        std::thread::id& where;
        ~cleanup() { where = std::this_thread::get_id(); }
      } c{cleaned_up_on};
      started = true;
      co_await sleep(1h);
    };
    loop_thread target;
    loop_id = target.id();
    target.call([&] { (void)spawn(forever(), "sleeps until the loop stops"); });
    while (!started.load()) std::this_thread::sleep_for(1ms);
  }  // joins: the cleanup has run
  EXPECT_EQ(cleaned_up_on, loop_id);
}

// -- run_on ---------------------------------------------------------------------------------

TEST(run_on, the_body_runs_on_the_target_thread_and_its_value_comes_back_to_the_caller_s_loop) {
  loop_thread target("target");
  const auto caller = std::this_thread::get_id();
  std::thread::id body_thread;
  auto result = run([&]() -> task<std::string> {
    auto make = [&]() -> task<std::string> {
      body_thread = std::this_thread::get_id();
      co_await sleep(1ms);  // a real suspension on the target's loop
      co_return "made on " + std::string(event_loop::current() != nullptr ? "a loop" : "no loop");
    };
    auto call = run_on(target, make, "test body");
    std::string v = co_await call;
    EXPECT_EQ(std::this_thread::get_id(), caller);  // resumed on its own loop
    co_return v;
  }());
  EXPECT_EQ(result, "made on a loop");
  EXPECT_EQ(body_thread, target.id());
}

TEST(run_on, move_only_values_and_void_bodies_cross_too) {
  loop_thread target;
  std::atomic<int> ran{0};
  auto value = run([&]() -> task<std::unique_ptr<int>> {
    auto make_ptr = []() -> task<std::unique_ptr<int>> { co_return std::make_unique<int>(41); };
    auto get = run_on(target, make_ptr);
    auto p = co_await get;
    auto make_nothing = [&]() -> task<void> {
      ++ran;
      co_return;
    };
    auto nothing = run_on(target, make_nothing);
    co_await nothing;
    ++*p;
    co_return p;
  }());
  ASSERT_NE(value, nullptr);
  EXPECT_EQ(*value, 42);
  EXPECT_EQ(ran.load(), 1);
}

TEST(run_on, the_body_s_exception_is_rethrown_in_the_awaiting_task) {
  loop_thread target;
  std::string caught;
  run([&]() -> task<void> {
    auto failing = []() -> task<int> {
      co_await sleep(1ms);
      throw std::out_of_range("no such page");
    };
    auto call = run_on(target, failing);
    try {
      (void)co_await call;
    } catch (const std::out_of_range& e) {
      caught = e.what();
    }
  }());
  EXPECT_EQ(caught, "no such page");
}

TEST(run_on, a_factory_that_throws_is_reported_like_a_body_that_throws) {
  loop_thread target;
  auto made = run([&]() -> task<bool> {
    auto refuses = []() -> task<int> { throw std::invalid_argument("bad request"); };
    auto call = run_on(target, refuses);
    try {
      (void)co_await call;
    } catch (const std::invalid_argument&) {
      co_return false;
    }
    co_return true;
  }());
  EXPECT_FALSE(made);
}

TEST(run_on, the_caller_s_loop_runs_its_other_tasks_while_it_waits) {
  loop_thread target;
  std::atomic<bool> caller_loop_ran{false};
  auto seen = run([&]() -> task<bool> {
    // The body ends only once another task of the caller's loop has run.
    auto make = [&]() -> task<bool> {
      co_await until(caller_loop_ran);
      co_return true;
    };
    auto call = run_on(target, make);
    auto other = spawn([](std::atomic<bool>& flag) -> task<void> {
      flag = true;
      co_return;
    }(caller_loop_ran));
    const bool v = co_await call;
    co_await other;
    co_return v;
  }());
  EXPECT_TRUE(seen);
}

TEST(run_on, many_calls_from_one_loop_each_get_their_own_result) {
  loop_thread target;
  const int total = run([&]() -> task<int> {
    auto one = [&target](int i) -> task<int> {
      auto make = [i]() -> task<int> {
        co_await sleep(std::chrono::microseconds(i % 7));
        co_return i* i;
      };
      auto call = run_on(target, make);
      co_return co_await call;
    };
    std::vector<task<int>> calls;
    for (int i = 0; i < 200; ++i) calls.push_back(one(i));
    auto all = gather(std::move(calls));
    const auto squares = co_await all;
    int sum = 0;
    for (std::size_t i = 0; i < squares.size(); ++i) {
      EXPECT_EQ(squares[i], static_cast<int>(i * i));
      sum += squares[i];
    }
    co_return sum;
  }());
  EXPECT_EQ(total, 2'646'700);  // sum of i*i for i < 200
}

TEST(run_on, the_target_may_be_the_caller_s_own_loop) {
  const int v = run([]() -> task<int> {
    auto make = []() -> task<int> { co_return 9; };
    auto call = run_on(event_loop::running().endpoint(), make);
    co_return co_await call;
  }());
  EXPECT_EQ(v, 9);
}

TEST(run_on, cancelling_the_awaiting_task_cancels_the_body_and_waits_for_its_cleanup) {
  loop_thread target;
  std::atomic<bool> started{false};
  std::atomic<bool> body_saw_cancel{false};
  std::thread::id cleaned_up_on;
  bool cleaned_up_before_the_awaiter_went_on = false;
  bool awaiter_cancelled = false;
  run([&]() -> task<void> {
    auto make = [&]() -> task<int> {
      struct cleanup {
        std::thread::id& where;
        ~cleanup() { where = std::this_thread::get_id(); }
      } c{cleaned_up_on};
      started = true;
      try {
        co_await sleep(1h);
      } catch (const cancelled_error&) {
        body_saw_cancel = true;
        throw;
      }
      co_return 1;
    };
    auto waiter = [&]() -> task<void> {
      auto call = run_on(target, make);
      try {
        (void)co_await call;
      } catch (const cancelled_error&) {
        awaiter_cancelled = true;
        cleaned_up_before_the_awaiter_went_on = cleaned_up_on != std::thread::id();
        throw;
      }
    };
    auto handle = spawn(waiter(), "awaits the body");
    co_await until(started);
    handle.cancel();
    try {
      co_await handle;
    } catch (const cancelled_error&) {}
  }());
  EXPECT_TRUE(body_saw_cancel.load());
  EXPECT_TRUE(awaiter_cancelled);
  EXPECT_TRUE(cleaned_up_before_the_awaiter_went_on);
  EXPECT_EQ(cleaned_up_on, target.id());
}

TEST(run_on, cancelled_before_it_starts_nothing_is_sent_to_the_target) {
  std::atomic<int> made{0};
  bool cancelled = false;
  {
    loop_thread target;
    run([&]() -> task<void> {
      auto make = [&]() -> task<int> {
        ++made;
        co_return 1;
      };
      auto waiter = [&]() -> task<int> {
        auto call = run_on(target, make);
        co_return co_await call;
      };
      auto handle = spawn(waiter());
      handle.cancel();  // before its first step
      try {
        (void)co_await handle;
      } catch (const cancelled_error&) {
        cancelled = true;
      }
    }());
  }  // joined: whatever was posted has run
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(made.load(), 0);
}

TEST(run_on, a_target_loop_that_stops_while_the_body_runs_resumes_the_awaiter_with_cancelled_error) {
  auto target = std::make_unique<loop_thread>();
  std::atomic<bool> started{false};
  std::atomic<bool> body_cleaned_up{false};
  bool cancelled = false;
  run([&]() -> task<void> {
    auto make = [&]() -> task<int> {
      struct cleanup {
        std::atomic<bool>& done;
        ~cleanup() { done = true; }
      } c{body_cleaned_up};
      started = true;
      co_await sleep(1h);
      co_return 1;
    };
    auto waiter = [&]() -> task<int> {
      auto call = run_on(*target, make);
      co_return co_await call;
    };
    auto handle = spawn(waiter());
    co_await until(started);
    target.reset();  // stops the target loop: the body is cancelled there, its answer posted here
    try {
      (void)co_await handle;
    } catch (const cancelled_error&) {
      cancelled = true;
    }
  }());
  EXPECT_TRUE(cancelled);
  EXPECT_TRUE(body_cleaned_up.load());
}

TEST(run_on, a_target_loop_that_has_ended_resumes_the_awaiter_with_cancelled_error_and_runs_nothing) {
  // A loop that ran on another thread and has ended: posts to it are dropped.
  std::shared_ptr<lowlevel::remote_endpoint> ended;
  std::thread([&ended] {
    run([&ended]() -> task<void> {
      ended = event_loop::running().endpoint();
      co_return;
    }());
  }).join();
  std::atomic<int> made{0};
  auto token = std::make_shared<int>(0);  // held by the factory: freed once the call gives it up
  bool cancelled = false;
  run([&]() -> task<void> {
    auto make = [&made, token]() -> task<int> {
      ++made;
      co_return *token;
    };
    auto call = run_on(ended, make);
    try {
      (void)co_await call;
    } catch (const cancelled_error&) {
      cancelled = true;
    }
  }());
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(made.load(), 0);
  EXPECT_EQ(token.use_count(), 1);
}

}  // namespace
}  // namespace trident::aio
