// Lesson cell "Common Pitfalls: race conditions": five threads each add the value 1 to a shared
// list unless it is already there. Checking and appending as two steps lets every thread see
// "not there yet" before anyone appends, and the list ends up with duplicates. Doing the check
// and the append under one lock leaves exactly one.
//
// Each step of the unsafe version is itself locked (the list is a trident::sync::synchronized), so
// there is no data race, only the logical check-then-act race. To show that race every time,
// not only when the scheduler happens to interleave badly, the unsafe threads meet at a latch
// between their check and their append: the worst interleaving, forced.

#include <algorithm>
#include <chrono>
#include <latch>
#include <thread>
#include <vector>

#include <fmt/ranges.h>

#include "cell.hpp"
#include "trident/sync/synchronized.hpp"

namespace trident::lesson {
namespace {

constexpr int threads = 5;
using shared_list = trident::sync::synchronized<std::vector<int>>;

void unsafe_append(shared_list& list, int value, std::latch& all_checked) {
  const bool missing = list.with_lock([&](const auto& v) {  // check
    return std::find(v.begin(), v.end(), value) == v.end();
  });
  all_checked.arrive_and_wait();                                      // the race window: every thread has checked
  if (missing) list.with_lock([&](auto& v) { v.push_back(value); });  // act on a stale check
}

void safe_append(shared_list& list, int value) {
  list.with_lock([&](auto& v) {
    if (std::find(v.begin(), v.end(), value) == v.end()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));  // the lesson's "work"
      v.push_back(value);
    }
  });
}

}  // namespace

std::string race_check_then_act(output& out) {
  shared_list unsafe{trident::sync::lock_name{"unsafe list"}};
  {
    std::latch all_checked(threads);
    std::vector<std::jthread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back([&] { unsafe_append(unsafe, 1, all_checked); });
  }
  const auto unsafe_items = unsafe.with_lock([](const auto& v) { return v; });
  out.line("Unsafe list (should have 1 item): [{}]", fmt::join(unsafe_items, ", "));

  shared_list safe{trident::sync::lock_name{"safe list"}};
  {
    std::vector<std::jthread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back([&] { safe_append(safe, 1); });
  }
  const auto safe_items = safe.with_lock([](const auto& v) { return v; });
  out.line("Safe list (should have 1 item):   [{}]", fmt::join(safe_items, ", "));

  const std::string result =
      fmt::format("unsafe {} items (duplicates), safe {} item", unsafe_items.size(), safe_items.size());
  check(safe_items.size() == 1, result + ": the locked check-then-act added duplicates");
  check(unsafe_items.size() == threads, result + ": expected every unsafe thread to append");
  return result;
}

}  // namespace trident::lesson
