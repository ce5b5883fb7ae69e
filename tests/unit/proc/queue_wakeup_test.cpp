// How the ring behind proc::queue puts its waiters to sleep and wakes them: with rings of one or
// two slots and several producer and consumer processes, every put and get blocks and wakes
// over and over, so a wake-up lost anywhere (a sleeper registering just as the last notifier
// looked, a timed wait leaving while it was woken) leaves a process asleep beside a message or
// a free slot, which these tests see as a consumer or producer whose generous deadline ran out.

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "trident/proc/detail/shm_ring.hpp"

namespace {

using trident::proc::detail::shm_ring;
using clock_type = std::chrono::steady_clock;

/// What each child reports back, in memory shared with the parent.
struct report {
  std::atomic<std::uint64_t> count{0};
  std::atomic<std::uint64_t> sum{0};
  std::atomic<std::uint64_t> stuck{0};  // waits that ran out a deadline no live peer should reach
};

/// `n` zeroed reports in an anonymous shared mapping, so that forked children can fill them.
class shared_reports {
 public:
  explicit shared_reports(std::size_t n) : n_(n) {
    void* p = ::mmap(nullptr, n * sizeof(report), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::runtime_error("mmap failed");
    reports_ = static_cast<report*>(p);
    for (std::size_t i = 0; i < n; ++i) new (&reports_[i]) report();
  }
  shared_reports(const shared_reports&) = delete;
  shared_reports& operator=(const shared_reports&) = delete;
  ~shared_reports() { ::munmap(reports_, n_ * sizeof(report)); }
  report& operator[](std::size_t i) { return reports_[i]; }

 private:
  std::size_t n_;
  report* reports_;
};

/// Forks a child that runs `body` and exits with what it returns (never returns in the child).
template <class Body>
pid_t fork_child(Body body) {
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) ::_exit(body());
  return pid;
}

/// Waits for `pid` up to `give_up`; kills it if it is still there then. The exit status, or
/// -1 if it had to be killed.
int reap_or_kill(pid_t pid, clock_type::time_point give_up) {
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (r < 0 && errno != EINTR) return -2;
    if (clock_type::now() >= give_up) {
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
      return -1;
    }
    ::usleep(1000);
  }
}

std::string encode(std::uint64_t v) { return std::string(reinterpret_cast<const char*>(&v), sizeof v); }
std::uint64_t decode(const std::string& s) {
  std::uint64_t v = 0;
  std::memcpy(&v, s.data(), std::min(s.size(), sizeof v));
  return v;
}

/// A deadline no live peer makes anyone reach on even a heavily loaded machine: a wait that
/// runs it out was never woken.
constexpr std::chrono::seconds hang_bound{20};

struct traffic {
  std::size_t capacity = 1;
  int producers = 3;
  int consumers = 3;
  std::uint64_t per_producer = 400;
  /// 0: blocking puts and gets (with `hang_bound` as the only deadline); otherwise every put
  /// and get waits at most this long and retries, so that waits keep expiring mid-traffic.
  std::chrono::microseconds timed_step{0};
};

/// Producers put 1..per_producer (tagged by producer) and exit; the parent then closes the
/// ring, and the consumers, which take until it is closed and drained, report what they took.
void run_traffic(const traffic& t) {
  shm_ring ring(t.capacity, sizeof(std::uint64_t));
  shared_reports reports(static_cast<std::size_t>(t.producers + t.consumers));
  std::vector<pid_t> producers;
  std::vector<pid_t> consumers;
  for (int c = 0; c < t.consumers; ++c) {
    report& r = reports[static_cast<std::size_t>(t.producers + c)];
    consumers.push_back(fork_child([&ring, &r, &t] {
      std::string out;
      auto last_progress = clock_type::now();
      for (;;) {
        const auto deadline =
            t.timed_step.count() == 0 ? clock_type::now() + hang_bound : clock_type::now() + t.timed_step;
        if (ring.get(out, &deadline)) {
          r.count.fetch_add(1, std::memory_order_relaxed);
          r.sum.fetch_add(decode(out), std::memory_order_relaxed);
          last_progress = clock_type::now();
          continue;
        }
        if (ring.closed() && ring.size() == 0) return 0;
        if (clock_type::now() - last_progress >= hang_bound) {
          r.stuck.fetch_add(1, std::memory_order_relaxed);
          return 2;
        }
      }
    }));
  }
  for (int p = 0; p < t.producers; ++p) {
    report& r = reports[static_cast<std::size_t>(p)];
    producers.push_back(fork_child([&ring, &r, &t, p] {
      for (std::uint64_t i = 1; i <= t.per_producer; ++i) {
        const std::string m = encode(static_cast<std::uint64_t>(p) * 1'000'000 + i);
        const auto started = clock_type::now();
        for (;;) {
          const auto deadline = t.timed_step.count() == 0 ? started + hang_bound : clock_type::now() + t.timed_step;
          if (ring.put(m, &deadline)) break;
          if (clock_type::now() - started >= hang_bound) {
            r.stuck.fetch_add(1, std::memory_order_relaxed);
            return 2;
          }
        }
      }
      return 0;
    }));
  }
  const auto give_up = clock_type::now() + 3 * hang_bound;
  for (const pid_t pid : producers) EXPECT_EQ(reap_or_kill(pid, give_up), 0) << "a producer hung or failed";
  ring.close();
  for (const pid_t pid : consumers) EXPECT_EQ(reap_or_kill(pid, give_up), 0) << "a consumer hung or failed";

  std::uint64_t count = 0;
  std::uint64_t sum = 0;
  std::uint64_t stuck = 0;
  for (int i = 0; i < t.producers + t.consumers; ++i) {
    count += reports[static_cast<std::size_t>(i)].count.load();
    sum += reports[static_cast<std::size_t>(i)].sum.load();
    stuck += reports[static_cast<std::size_t>(i)].stuck.load();
  }
  std::uint64_t expected_sum = 0;
  for (int p = 0; p < t.producers; ++p) {
    for (std::uint64_t i = 1; i <= t.per_producer; ++i) expected_sum += static_cast<std::uint64_t>(p) * 1'000'000 + i;
  }
  EXPECT_EQ(stuck, 0u) << "a wait was never woken (capacity " << t.capacity << ")";
  EXPECT_EQ(count, t.per_producer * static_cast<std::uint64_t>(t.producers));
  EXPECT_EQ(sum, expected_sum);
  EXPECT_EQ(ring.size(), 0u);
}

TEST(proc_queue_wakeups, one_slot_ring_with_three_producer_and_three_consumer_processes_never_hangs) {
  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    run_traffic({.capacity = 1, .producers = 3, .consumers = 3, .per_producer = 2000});
    if (HasFailure()) return;
  }
}

TEST(proc_queue_wakeups, two_slot_ring_with_more_consumers_than_producers_never_hangs) {
  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    run_traffic({.capacity = 2, .producers = 2, .consumers = 4, .per_producer = 3000});
    if (HasFailure()) return;
  }
}

TEST(proc_queue_wakeups, puts_and_gets_whose_deadlines_keep_expiring_lose_nothing_and_no_wake_up) {
  // Each wait lasts at most 200 µs and is retried: waiters keep registering, timing out and
  // leaving while others publish, the interleaving in which a wake-up meant for a sleeper that
  // just left could be swallowed.
  for (int round = 0; round < 10; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    run_traffic({.capacity = 1,
                 .producers = 3,
                 .consumers = 3,
                 .per_producer = 1000,
                 .timed_step = std::chrono::microseconds(200)});
    if (HasFailure()) return;
  }
}

}  // namespace
