#include "trident/aio/event_loop.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "trident/aio/event.hpp"
#include "trident/aio/run.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/aio/spawn.hpp"

namespace trident::aio {
namespace {

using namespace std::chrono_literals;

/// Waits for an event nobody sets: ends only by cancellation.
task<void> wait_forever() {
  event never;
  co_await never.wait();
}

TEST(event_loop_post, callbacks_from_another_thread_run_on_the_loop_thread_in_posting_order) {
  event_loop loop;
  const auto loop_thread = std::this_thread::get_id();
  std::vector<int> order;  // touched only on the loop thread
  event all_ran;
  std::thread poster;
  run_until_complete(loop, [&]() -> task<void> {
    poster = std::thread([&] {
      for (int i = 0; i < 100; ++i) {
        loop.post([&, i] {
          EXPECT_EQ(std::this_thread::get_id(), loop_thread);
          order.push_back(i);
          if (order.size() == 100) all_ran.set();
        });
      }
    });
    co_await all_ran.wait();
  }());
  poster.join();
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
}

TEST(event_loop_post, a_post_after_the_loop_is_destroyed_is_dropped_without_running) {
  auto token = std::make_shared<int>(0);
  std::shared_ptr<lowlevel::remote_endpoint> endpoint;
  {
    event_loop loop;
    endpoint = loop.endpoint();
    run_until_complete(loop, []() -> task<void> { co_return; }());
  }
  bool ran = false;
  lowlevel::post(*endpoint, [&ran, token] { ran = true; });
  EXPECT_FALSE(ran);
  EXPECT_EQ(token.use_count(), 1);  // the dropped callback released what it captured
}

TEST(event_loop_post, an_exception_in_a_posted_callback_is_reported_and_the_loop_goes_on) {
  event_loop loop;
  testing::internal::CaptureStderr();
  run_until_complete(loop, [&]() -> task<void> {
    event later_ran;
    loop.post([] { throw std::runtime_error("bad callback"); });
    loop.post([&] { later_ran.set(); });
    co_await later_ran.wait();
  }());
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("bad callback"), std::string::npos) << err;
}

TEST(event_loop_stop, stop_from_inside_cancels_main_and_run_until_complete_throws_cancelled_error) {
  event_loop loop;
  bool cleaned_up = false;
  EXPECT_THROW(run_until_complete(loop,
                                  [&]() -> task<void> {
                                    struct cleanup {
                                      bool& flag;
                                      ~cleanup() { flag = true; }
                                    } guard{cleaned_up};
                                    loop.stop();
                                    auto forever =
                                        wait_forever();  // named: g++ 12 and temporaries in co_await (docs/aio.md)
                                    co_await forever;    // main is cancelled here while the loop winds down
                                  }()),
               cancelled_error);
  EXPECT_TRUE(cleaned_up);
}

TEST(event_loop_stop, stop_from_another_thread_cancels_main_and_run_until_complete_throws_cancelled_error) {
  event_loop loop;
  std::atomic<bool> main_waiting{false};
  std::thread stopper([&] {
    while (!main_waiting.load()) std::this_thread::yield();
    loop.stop();
  });
  EXPECT_THROW(run_until_complete(loop,
                                  [&]() -> task<void> {
                                    main_waiting = true;
                                    auto forever = wait_forever();
                                    co_await forever;
                                  }()),
               cancelled_error);
  stopper.join();
}

TEST(event_loop_stop, a_stopped_loop_also_cancels_spawned_tasks_and_runs_their_cleanup) {
  event_loop loop;
  bool child_cleaned_up = false;
  auto child = [&]() -> task<void> {
    struct cleanup {
      bool& flag;
      ~cleanup() { flag = true; }
    } guard{child_cleaned_up};
    auto forever = wait_forever();  // named: g++ 12 and temporaries in co_await (docs/aio.md)
    co_await forever;
  };
  EXPECT_THROW(run_until_complete(loop,
                                  [&]() -> task<void> {
                                    auto h = spawn(child());
                                    co_await sleep(0ms);
                                    loop.stop();
                                    co_await h;
                                  }()),
               cancelled_error);
  EXPECT_TRUE(child_cleaned_up);
}

/// Fails with `what` on its second step, after its spawner moved on.
task<void> fail_after_a_step(const char* what) {
  co_await sleep(0ms);
  throw std::runtime_error(what);
}

TEST(event_loop_unretrieved, a_failed_task_whose_handle_was_dropped_is_reported_on_stderr) {
  testing::internal::CaptureStderr();
  run([&]() -> task<void> {
    { auto dropped = spawn(fail_after_a_step("nobody looked at me"), "forgotten"); }
    co_await sleep(0ms);
    co_await sleep(0ms);
  }());
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("never retrieved"), std::string::npos) << err;
  EXPECT_NE(err.find("forgotten"), std::string::npos) << err;
  EXPECT_NE(err.find("nobody looked at me"), std::string::npos) << err;
}

TEST(event_loop_unretrieved, a_failure_someone_awaited_is_not_reported) {
  testing::internal::CaptureStderr();
  run([&]() -> task<void> {
    auto h = spawn(fail_after_a_step("seen"), "awaited");
    EXPECT_THROW(co_await h, std::runtime_error);
  }());
  EXPECT_EQ(testing::internal::GetCapturedStderr().find("never retrieved"), std::string::npos);
}

TEST(event_loop_unretrieved, a_cancelled_task_nobody_awaited_is_not_reported) {
  testing::internal::CaptureStderr();
  run([&]() -> task<void> {
    { auto dropped = spawn(wait_forever(), "cancelled at shutdown"); }
    co_await sleep(0ms);
  }());
  EXPECT_EQ(testing::internal::GetCapturedStderr().find("never retrieved"), std::string::npos);
}

}  // namespace
}  // namespace trident::aio
