// A user's own awaitable, built on the aio layer's public low-level interface alone
// (trident/aio/lowlevel.hpp) and linked against trident::aio only: a "doorbell" that a
// coroutine waits on and any thread may ring. It shows the three steps every cancellable
// awaitable takes, waking from another thread through the loop's endpoint, and a timer.
//
//   doorbell::wait()   suspends until ring(); cancelling the task ends the wait at once

#include <atomic>
#include <chrono>
#include <coroutine>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include "trident/aio/lowlevel.hpp"
#include "trident/aio/run.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/aio/spawn.hpp"
#include "trident/aio/timeout.hpp"

namespace aio = trident::aio;
namespace lowlevel = trident::aio::lowlevel;
using namespace std::chrono_literals;

/// One waiter at a time; `ring` may be called from any thread.
class doorbell {
 public:
  class awaiter : private lowlevel::cancellable_wait {
   public:
    explicit awaiter(doorbell& bell) noexcept : bell_(bell) {}
    bool await_ready() const noexcept { return false; }

    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> h) {
      if (bind(h)) return false;  // 1. cancelled already: raise at once, do not wait
      std::lock_guard lock(bell_.mutex_);
      if (std::exchange(bell_.rung_, false)) return false;
      bell_.loop_ = &aio::event_loop::running();
      bell_.endpoint_ = bell_.loop_->endpoint();
      bell_.waiter_ = h;
      arm(&on_cancel, this);  // 2. cancelling the task now calls on_cancel
      return true;
    }

    void await_resume() { end_wait("cancelled while waiting for the doorbell"); }  // 3.

   private:
    // Loop thread. Unhooks the waiter if the bell did not take it first, and resumes it.
    static void on_cancel(void* self) noexcept {
      doorbell& bell = static_cast<awaiter*>(self)->bell_;
      std::coroutine_handle<> h;
      {
        std::lock_guard lock(bell.mutex_);
        h = std::exchange(bell.waiter_, nullptr);
      }
      if (h) bell.loop_->schedule(h);
    }
    doorbell& bell_;
  };

  awaiter wait() noexcept { return awaiter(*this); }

  /// Any thread. Resumes the waiter on its loop's thread, or lets the next wait pass at once.
  void ring() {
    std::lock_guard lock(mutex_);
    auto h = std::exchange(waiter_, nullptr);
    if (!h) {
      rung_ = true;
      return;
    }
    lowlevel::post(*endpoint_, [loop = loop_, h] { loop->schedule(h); });
  }

 private:
  std::mutex mutex_;
  bool rung_ = false;
  std::coroutine_handle<> waiter_;  // guarded by mutex_
  aio::event_loop* loop_ = nullptr;
  std::shared_ptr<lowlevel::remote_endpoint> endpoint_;
};

aio::task<int> demo() {
  doorbell bell;
  int checks = 0;

  // A thread rings; the coroutine wakes on the loop thread.
  const auto loop_thread = std::this_thread::get_id();
  std::jthread ringer([&bell] {
    std::this_thread::sleep_for(20ms);
    bell.ring();
  });
  co_await bell.wait();
  checks += std::this_thread::get_id() == loop_thread;
  std::cout << "rung from another thread, resumed on the loop thread\n";

  // Nobody rings: the timeout scope cancels the wait through on_cancel.
  // The lambda and its task are named before the co_await: g++ 12 frees temporaries of a
  // co_await operand while the coroutine still uses them.
  auto wait_for_bell = [&bell]() -> aio::task<void> { co_await bell.wait(); };
  auto unanswered = wait_for_bell();
  try {
    co_await aio::timeout(30ms, std::move(unanswered));
  } catch (const trident::timeout_error&) {
    ++checks;
    std::cout << "a wait nobody answered ended by the timeout scope\n";
  }
  co_return checks;
}

int main() {
  const int checks = aio::run(demo());
  std::cout << checks << "/2 checks passed\n";
  return checks == 2 ? 0 : 1;
}
