// The shared-memory ring behind proc::queue, with processes killed (SIGKILL) in the middle of a
// put or a get at seeded, repeatable points: nothing published is lost or duplicated, nothing
// torn is delivered, nobody hangs, and the ring's capacity is whole afterwards.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "trident/aio/run.hpp"
#include "trident/proc/detail/shm_ring.hpp"
#include "trident/proc/queue.hpp"
#include "trident/proc/run_in.hpp"

namespace {

using trident::proc::detail::inject_ring_fault;
using trident::proc::detail::ring_fault_point;
using trident::proc::detail::shm_ring;
using clock_type = std::chrono::steady_clock;

// A message names its producer and its number; the rest of its bytes follow from both, so a
// message with bytes from two writes (torn) does not check out.
constexpr std::size_t message_bytes = 64;

std::array<char, message_bytes> make_message(std::uint32_t producer, std::uint32_t number) {
  std::array<char, message_bytes> m{};
  std::memcpy(m.data(), &producer, 4);
  std::memcpy(m.data() + 4, &number, 4);
  for (std::size_t i = 8; i < message_bytes; ++i) m[i] = static_cast<char>((producer * 131 + number * 7 + i) & 0xff);
  return m;
}

struct decoded {
  std::uint32_t producer = 0;
  std::uint32_t number = 0;
  bool intact = false;
};

decoded decode(std::string_view bytes) {
  decoded d;
  if (bytes.size() != message_bytes) return d;
  std::memcpy(&d.producer, bytes.data(), 4);
  std::memcpy(&d.number, bytes.data() + 4, 4);
  const auto expected = make_message(d.producer, d.number);
  d.intact = std::memcmp(expected.data(), bytes.data(), message_bytes) == 0;
  return d;
}

/// Whether `pid` has exited, without reaping it (it stays a zombie until `reap`).
bool exited(pid_t pid) {
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) return true;
  return info.si_pid == pid;
}

int reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  return status;
}

/// Forks a child that runs `body` and exits with what it returns (never returns in the child).
template <class Body>
pid_t fork_child(Body body) {
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) ::_exit(body());
  return pid;
}

/// Fills `ring` to capacity without waiting, checks that one more does not fit, and takes it
/// all back in order: the ring's capacity is whole.
void expect_whole_capacity(shm_ring& ring) {
  const auto now = clock_type::now();
  for (std::uint32_t i = 0; i < ring.capacity(); ++i) {
    const auto m = make_message(999, i);
    ASSERT_TRUE(ring.put(std::string_view(m.data(), m.size()), &now)) << "slot " << i << " of " << ring.capacity();
  }
  EXPECT_EQ(ring.size(), ring.capacity());
  const auto extra = make_message(999, 1'000'000);
  EXPECT_FALSE(ring.put(std::string_view(extra.data(), extra.size()), &now));
  std::string out;
  for (std::uint32_t i = 0; i < ring.capacity(); ++i) {
    ASSERT_TRUE(ring.get(out, &now));
    const decoded d = decode(out);
    EXPECT_TRUE(d.intact);
    EXPECT_EQ(d.producer, 999u);
    EXPECT_EQ(d.number, i);
  }
  EXPECT_FALSE(ring.get(out, &now));
  EXPECT_EQ(ring.size(), 0u);
}

struct producer_plan {
  ring_fault_point point = ring_fault_point::none;
  std::uint64_t dies_at = 0;  // the put (1-based) during which it kills itself; 0: it lives
};

void run_dying_producers(std::uint32_t seed) {
  constexpr std::uint32_t producers = 6;
  constexpr std::uint32_t per_producer = 400;
  shm_ring ring(8, message_bytes);
  std::mt19937 rng(seed);
  constexpr std::array points{ring_fault_point::producer_after_claim, ring_fault_point::producer_mid_write,
                              ring_fault_point::producer_before_publish};
  std::vector<producer_plan> plans(producers);
  for (std::uint32_t p = 0; p < producers; p += 2) {  // every other producer dies
    plans[p].point = points[std::uniform_int_distribution<std::size_t>(0, points.size() - 1)(rng)];
    plans[p].dies_at = std::uniform_int_distribution<std::uint64_t>(1, per_producer)(rng);
  }
  std::vector<pid_t> pids;
  for (std::uint32_t p = 0; p < producers; ++p) {
    pids.push_back(fork_child([&ring, plan = plans[p], p] {
      if (plan.point != ring_fault_point::none) inject_ring_fault(plan.point, plan.dies_at);
      const auto deadline = clock_type::now() + std::chrono::seconds(20);
      for (std::uint32_t i = 0; i < per_producer; ++i) {
        const auto m = make_message(p, i);
        if (!ring.put(std::string_view(m.data(), m.size()), &deadline)) return 3;
      }
      return 0;
    }));
  }

  // Consume until every producer has exited (the dead ones stay unreaped zombies meanwhile,
  // which the ring must see as dead) and the ring is drained.
  std::map<std::uint32_t, std::vector<std::uint32_t>> received;
  std::size_t torn = 0;
  std::string out;
  const auto give_up = clock_type::now() + std::chrono::seconds(40);
  for (;;) {
    ASSERT_LT(clock_type::now(), give_up) << "the consumer hung (seed " << seed << ")";
    bool all_exited = true;
    for (const pid_t pid : pids) all_exited = all_exited && exited(pid);
    const auto wait = clock_type::now() + std::chrono::milliseconds(all_exited ? 300 : 50);
    if (ring.get(out, &wait)) {
      const decoded d = decode(out);
      if (!d.intact) {
        ++torn;
        continue;
      }
      received[d.producer].push_back(d.number);
    } else if (all_exited) {
      break;
    }
  }
  for (std::uint32_t p = 0; p < producers; ++p) {
    const int status = reap(pids[p]);
    if (plans[p].point == ring_fault_point::none) {
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "producer " << p << " status " << status;
    } else {
      EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "producer " << p << " status " << status;
    }
  }
  EXPECT_EQ(torn, 0u);
  for (std::uint32_t p = 0; p < producers; ++p) {
    // Every put that returned was published: received once each, in order. A producer that
    // died in its n-th put published n - 1 messages; the one it was writing never arrives.
    const std::uint32_t published =
        plans[p].point == ring_fault_point::none ? per_producer : static_cast<std::uint32_t>(plans[p].dies_at - 1);
    std::vector<std::uint32_t> expected(published);
    for (std::uint32_t i = 0; i < published; ++i) expected[i] = i;
    EXPECT_EQ(received[p], expected) << "producer " << p << " (seed " << seed << ", fault point "
                                     << static_cast<int>(plans[p].point) << " at put " << plans[p].dies_at << ")";
  }
  expect_whole_capacity(ring);
  for (const pid_t pid : pids) EXPECT_TRUE(::kill(pid, 0) != 0 && errno == ESRCH) << "child " << pid << " is left";
}

TEST(proc_queue_faults, producers_killed_mid_publish_lose_only_the_message_they_were_writing) {
  for (const std::uint32_t seed : {1u, 2u, 3u, 4u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    run_dying_producers(seed);
    if (HasFatalFailure()) return;
  }
}

TEST(proc_queue_faults, a_consumer_killed_mid_read_loses_only_the_message_it_was_reading) {
  for (const ring_fault_point point : {ring_fault_point::consumer_after_claim, ring_fault_point::consumer_mid_read}) {
    SCOPED_TRACE("fault point " + std::to_string(static_cast<int>(point)));
    constexpr std::uint32_t capacity = 4;
    shm_ring ring(capacity, message_bytes);
    // What the dying consumer took before it died, for the books.
    auto* taken =
        static_cast<std::uint32_t*>(::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(taken, MAP_FAILED);
    const auto deadline = clock_type::now() + std::chrono::seconds(20);
    std::uint32_t next = 0;
    for (; next < 3; ++next) {
      const auto m = make_message(1, next);
      ASSERT_TRUE(ring.put(std::string_view(m.data(), m.size()), &deadline));
    }
    // It takes message 0, and dies in its second get (message 1).
    const pid_t consumer = fork_child([&ring, taken, point] {
      inject_ring_fault(point, 2);
      std::string out;
      const auto until = clock_type::now() + std::chrono::seconds(20);
      for (std::uint32_t i = 0;; ++i) {
        if (!ring.get(out, &until)) return 3;
        const decoded d = decode(out);
        taken[i + 1] = d.intact ? d.number : 0xFFFFFFFFu;
        taken[0] = i + 1;
      }
    });
    const int status = reap(consumer);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
    ASSERT_EQ(taken[0], 1u);
    EXPECT_EQ(taken[1], 0u);
    // The ring holds message 2, and the slot of message 1 is claimed by the dead consumer. A
    // producer that laps round to that slot must take it back rather than wait for ever: the
    // ring takes `capacity - 1` more messages, the last of which needs that slot.
    for (std::uint32_t i = 0; i < capacity - 1; ++i, ++next) {
      const auto m = make_message(1, next);
      ASSERT_TRUE(ring.put(std::string_view(m.data(), m.size()), &deadline)) << "message " << next;
    }
    EXPECT_EQ(ring.size(), capacity);
    std::string out;
    for (std::uint32_t expect = 2; expect < next; ++expect) {
      ASSERT_TRUE(ring.get(out, &deadline));
      const decoded d = decode(out);
      EXPECT_TRUE(d.intact);
      EXPECT_EQ(d.number, expect);  // message 1 went with the dead consumer; nothing else did
    }
    expect_whole_capacity(ring);
    ::munmap(taken, 4096);
  }
}

TEST(proc_queue_faults, a_producer_asleep_on_a_full_ring_outlives_a_consumer_that_dies_reading) {
  shm_ring ring(1, message_bytes);
  const auto first = make_message(1, 0);
  const auto deadline = clock_type::now() + std::chrono::seconds(20);
  ASSERT_TRUE(ring.put(std::string_view(first.data(), first.size()), &deadline));
  // A producer waits on the full ring (long enough to be asleep, not spinning)...
  bool second_put = false;
  std::thread producer([&] {
    const auto second = make_message(1, 1);
    second_put = ring.put(std::string_view(second.data(), second.size()), &deadline);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  // ...while the only consumer takes the first message and dies reading it.
  const pid_t consumer = fork_child([&ring] {
    inject_ring_fault(ring_fault_point::consumer_mid_read, 1);
    std::string out;
    const auto until = clock_type::now() + std::chrono::seconds(20);
    return ring.get(out, &until) ? 0 : 3;
  });
  const int status = reap(consumer);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  producer.join();
  EXPECT_TRUE(second_put);
  std::string out;
  ASSERT_TRUE(ring.get(out, &deadline));
  EXPECT_EQ(decode(out).number, 1u);
  expect_whole_capacity(ring);
}

TEST(proc_queue_faults, a_consumer_behind_a_dead_producer_goes_on_to_the_next_message) {
  shm_ring ring(4, message_bytes);
  const pid_t producer = fork_child([&ring] {
    inject_ring_fault(ring_fault_point::producer_mid_write, 1);
    const auto m = make_message(7, 0);
    const auto deadline = clock_type::now() + std::chrono::seconds(20);
    return ring.put(std::string_view(m.data(), m.size()), &deadline) ? 0 : 3;
  });
  const int status = reap(producer);  // reaped: its pid is gone, not a zombie
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  // The dead producer's claim sits at the head; a message from a live producer is behind it.
  const auto next = make_message(8, 0);
  const auto deadline = clock_type::now() + std::chrono::seconds(20);
  ASSERT_TRUE(ring.put(std::string_view(next.data(), next.size()), &deadline));
  EXPECT_TRUE(ring.wait_readable(&deadline));  // the dead claim is taken back: readable
  std::string out;
  ASSERT_TRUE(ring.get(out, &deadline));
  const decoded d = decode(out);
  EXPECT_TRUE(d.intact);
  EXPECT_EQ(d.producer, 8u);
  expect_whole_capacity(ring);
}

TEST(proc_queue_faults, a_coroutine_behind_a_dead_producer_receives_the_next_value) {
  trident::proc::queue<int> q(4);
  const pid_t producer = fork_child([&q] {
    inject_ring_fault(ring_fault_point::producer_before_publish, 1);
    q.send(1);  // encoded into its slot, never published
    return 3;
  });
  const int status = reap(producer);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  // The coroutine waits through the queue's watcher thread, which must find the dead claim at
  // the head and take it back; the next value comes once it waits.
  std::atomic<bool> stop{false};
  std::thread sender([&] {
    const auto give_up = clock_type::now() + std::chrono::seconds(20);
    while (q.statistics().waiting_coroutines == 0 && !stop && clock_type::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    q.send(42);
    // A watchdog, not a measurement: a hang ends as a failure rather than a stuck test.
    while (!stop && clock_type::now() < give_up) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    q.close();
  });
  auto consumer = [&]() -> trident::aio::task<std::optional<int>> {
    auto next = trident::aio::receive(q);
    co_return co_await next;
  };
  const std::optional<int> got = trident::aio::run(consumer());
  stop = true;
  sender.join();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, 42);
  EXPECT_EQ(q.size(), 0u);
}

TEST(proc_queue_faults, a_writer_that_throws_leaves_no_hole) {
  shm_ring ring(2, message_bytes);
  auto throwing = [](void*, char*, std::size_t) -> std::size_t { throw std::runtime_error("cannot encode"); };
  const auto now = clock_type::now();
  EXPECT_THROW((void)ring.put_with(throwing, nullptr, &now), std::runtime_error);
  std::string out;
  EXPECT_FALSE(ring.get(out, &now));  // the abandoned slot is skipped, not delivered
  expect_whole_capacity(ring);
}

}  // namespace
