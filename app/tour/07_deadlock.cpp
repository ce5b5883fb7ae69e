// Lesson cell "Common Pitfalls: deadlocks": two threads take two locks in opposite orders
// (lock1 then lock2, and lock2 then lock1). If they overlap in time, each holds the lock the
// other waits for, forever. Python leaves you with a hung program; Trident's lock-order
// checker remembers "lock1 before lock2" from the first thread and refuses the opposite order
// with an error naming both locks and both call sites, *before* blocking. Here the threads run
// one after the other, so nothing could hang even without the checker: the checker finds the
// deadlock that a luckier or unluckier timing would have produced.
//
// The fix is the lesson's: every thread takes the locks in the same order.

#include <chrono>
#include <optional>
#include <thread>

#include "cell.hpp"
#include "trident/sync/lock_order.hpp"
#include "trident/sync/mutex.hpp"

namespace trident::lesson {
namespace {

/// Turns lock-order checking on for the scope and restores the previous setting afterwards.
class checking_on {
 public:
  checking_on() : was_(trident::sync::lock_order::enabled()) { trident::sync::lock_order::set_enabled(true); }
  ~checking_on() { trident::sync::lock_order::set_enabled(was_); }
  checking_on(const checking_on&) = delete;
  checking_on& operator=(const checking_on&) = delete;

 private:
  bool was_;
};

std::string where(const std::source_location& at) {
  std::string_view file = at.file_name();
  if (const auto slash = file.find_last_of('/'); slash != std::string_view::npos) file.remove_prefix(slash + 1);
  return fmt::format("{}:{}", file, at.line());
}

}  // namespace

std::string deadlock(output& out) {
  checking_on checking;
  const auto violations_before = trident::sync::lock_order::statistics().violations;

  out.line("--- Inconsistent order: task1 takes lock1 -> lock2, task2 takes lock2 -> lock1 ---");
  std::optional<trident::sync::lock_order_error> caught;
  {
    trident::sync::mutex lock1{"lock1"};
    trident::sync::mutex lock2{"lock2"};

    std::jthread([&] {
      auto first = lock1.scoped();
      out.line("Task1 acquired lock1");
      auto second = lock2.scoped();
      out.line("Task1 acquired lock2");
    }).join();

    std::jthread([&] {
      auto first = lock2.scoped();
      out.line("Task2 acquired lock2");
      try {
        auto second = lock1.scoped();  // would deadlock against task1: refused, not blocked
        out.line("Task2 acquired lock1");
      } catch (const trident::sync::lock_order_error& e) {
        caught = e;
      }
    }).join();
  }

  check(caught.has_value(), "the lock-order checker did not catch the inverted order");
  out.line("Caught trident::sync::lock_order_error:\n  {}", caught->what());
  out.line("  requested '{}' at {}, while holding '{}' (taken at {}); opposite order taken at {}", caught->requested(),
           where(caught->requested_at()), caught->held(), where(caught->held_at()), where(caught->opposite_at()));
  check(caught->requested() == "lock1" && caught->held() == "lock2",
        fmt::format("the error names '{}' and '{}', expected lock1 and lock2", caught->requested(), caught->held()));

  out.line("--- Fix: both tasks take lock1 -> lock2 ---");
  {
    trident::sync::mutex lock1{"lock1"};
    trident::sync::mutex lock2{"lock2"};
    auto task = [&](const char* name) {
      auto first = lock1.scoped();
      out.line("{} acquired lock1", name);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      auto second = lock2.scoped();
      out.line("{} acquired lock2", name);
    };
    std::jthread t1(task, "Task1");
    std::jthread t2(task, "Task2");
  }
  out.line("No deadlock!");

  const auto violations = trident::sync::lock_order::statistics().violations - violations_before;
  check(violations == 1, fmt::format("{} lock-order violations, expected exactly the one shown", violations));
  return fmt::format("lock1/lock2 inversion caught (lines {} vs {}), fix runs clean", caught->requested_at().line(),
                     caught->opposite_at().line());
}

}  // namespace trident::lesson
