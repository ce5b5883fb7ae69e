// The parts of `trident soak`'s mixed load (soak_load.hpp): each runs on a thread of its own
// until stop() and checks every result it gets; the faults are injected by a thread beside the
// process map.

#include "soak_load.hpp"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <optional>
#include <random>
#include <stop_token>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "trident/aio/event_loop.hpp"
#include "trident/aio/gather.hpp"
#include "trident/aio/queue.hpp"
#include "trident/aio/run.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/aio/spawn.hpp"
#include "trident/exec/thread_pool.hpp"
#include "trident/http/fetch.hpp"
#include "trident/http/session.hpp"
#include "trident/proc/errors.hpp"
#include "trident/proc/process.hpp"
#include "trident/proc/queue.hpp"
#include "trident/proc/task_registry.hpp"
#include "trident/testing/http_server.hpp"
#include "trident/testing/temp_dir.hpp"

namespace trident::cli::soak {

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

/// A mixing function whose result is cheap to check in the parent (SplitMix64's finaliser).
std::uint64_t mix(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// ---- The process-pool tasks (registered: workers run them by name) ----

/// An element of the long map: `mix(x)`, after some busy work that does not change it (so the
/// parent checks each result without redoing the work).
std::uint64_t soak_map_item(std::uint64_t x) {
  std::uint64_t spin = x;
  for (int i = 0; i < 2000; ++i) spin = mix(spin);
  asm volatile("" : : "r"(spin) : "memory");
  return mix(x);
}
TRIDENT_TASK(soak_map_item);

// Read at run time, so the compiler neither folds the bad store nor warns about it.
volatile std::uintptr_t soak_bad_address = 8;

/// The injected segfault: a store through a null struct pointer (address 8), which neither the
/// compiler nor UBSan stops before the kernel does.
int soak_segfault(int x) {
  volatile int* nowhere = reinterpret_cast<volatile int*>(soak_bad_address);
  *nowhere = x;
  return x;
}
TRIDENT_TASK(soak_segfault);

/// The injected runaway task: sleeps far past the timeout it is given.
int soak_oversleep(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}
TRIDENT_TASK(soak_oversleep);

/// IPC producer: sends first, first + 1, ... (count values), then closes the queue.
void soak_produce(proc::queue<std::uint64_t> out, std::uint64_t first, std::uint64_t count) {
  for (std::uint64_t i = 0; i < count; ++i) out.send(first + i);
  out.close();
}
TRIDENT_TASK(soak_produce);

/// IPC relay: passes on `mix(v)` for every value until its input is closed and drained.
void soak_relay(proc::queue<std::uint64_t> in, proc::queue<std::uint64_t> out) {
  while (auto v = in.receive()) out.send(mix(*v));
  out.close();
}
TRIDENT_TASK(soak_relay);

constexpr std::size_t map_segment_items = 200000;
constexpr std::size_t map_chunk_items = 250;
constexpr int map_attempts = 5;  ///< Runs of one segment at most (the first included).
constexpr std::uint64_t ipc_round_values = 5000;
constexpr auto task_timeout = 300ms;

std::size_t index(work w) { return static_cast<std::size_t>(w); }
std::size_t index(fault f) { return static_cast<std::size_t>(f); }

}  // namespace

const char* name_of(work w) noexcept {
  switch (w) {
    case work::coroutines:
      return "coroutines";
    case work::timers:
      return "timers";
    case work::thread_pool:
      return "thread_pool_tasks";
    case work::map_items:
      return "process_map_items";
    case work::ipc_messages:
      return "ipc_messages";
    case work::fetches:
      return "fetches";
    case work::count:
      break;
  }
  return "?";
}

const char* name_of(fault f) noexcept {
  switch (f) {
    case fault::sigkill:
      return "worker_sigkill";
    case fault::segfault:
      return "task_segfault";
    case fault::timeout:
      return "task_timeout";
    case fault::http_503:
      return "http_503";
    case fault::http_reset:
      return "http_reset";
    case fault::http_stall:
      return "http_stall";
    case fault::count:
      break;
  }
  return "?";
}

std::uint64_t load_counts::faults_injected() const noexcept {
  std::uint64_t n = 0;
  for (auto v : injected) n += v;
  return n;
}

std::uint64_t load_counts::faults_survived() const noexcept {
  std::uint64_t n = 0;
  for (auto v : survived) n += v;
  return n;
}

struct mixed_load::state {
  load_options options;
  std::stop_source stop;

  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(work::count)> done{};
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(fault::count)> injected{};
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(fault::count)> survived{};
  std::atomic<std::uint64_t> lost{0};
  std::atomic<std::uint64_t> map_segments{0};
  std::atomic<std::uint64_t> map_reruns{0};
  std::atomic<std::uint64_t> ipc_rounds{0};
  std::atomic<std::uint64_t> extra_retries{0};

  mutable std::mutex mutex;
  std::vector<std::string> problems;  // guarded by mutex
  std::condition_variable_any pause;  // for interruptible waits between rounds

  std::unique_ptr<proc::process_pool> pool;
  std::optional<testing::http_server> server;
  std::optional<testing::temp_dir> downloads;
  std::vector<std::thread> threads;
  bool stopped = false;

  void add(work w, std::uint64_t n = 1) { done[index(w)].fetch_add(n, std::memory_order_relaxed); }
  void inject(fault f, std::uint64_t n = 1) { injected[index(f)].fetch_add(n, std::memory_order_relaxed); }
  void survive(fault f, std::uint64_t n = 1) { survived[index(f)].fetch_add(n, std::memory_order_relaxed); }

  void problem(std::string what, std::uint64_t lost_work = 0) {
    lost.fetch_add(lost_work, std::memory_order_relaxed);
    std::lock_guard lock(mutex);
    if (problems.size() < 20) problems.push_back(std::move(what));
  }

  /// Sleeps `d` unless the load stops first; returns false when it stops.
  bool rest(steady::duration d) {
    std::unique_lock lock(mutex);
    const std::stop_token token = stop.get_token();
    pause.wait_for(lock, token, d, [&token] { return token.stop_requested(); });
    return !token.stop_requested();
  }

  bool running() const { return !stop.stop_requested(); }

  void run_thread_pool();
  void run_process_map();
  void run_faults();
  void run_ipc();
  void run_event_loop();
  aio::task<void> gathers();
  aio::task<void> timers(std::uint64_t seed);
  aio::task<void> producer(aio::queue<std::uint64_t>& q);
  aio::task<void> consumer(aio::queue<std::uint64_t>& q);
  aio::task<void> fetches();
};

// ---- Thread pool: nested submit-and-wait ----

namespace {

/// The sum of [lo, hi), split into two nested tasks down to 256 numbers, each waited for by
/// its parent task (the waiting worker runs queued tasks meanwhile).
std::uint64_t range_sum(exec::thread_pool& pool, std::uint64_t lo, std::uint64_t hi,
                        std::atomic<std::uint64_t>& tasks) {
  tasks.fetch_add(1, std::memory_order_relaxed);
  if (hi - lo <= 256) {
    std::uint64_t s = 0;
    for (std::uint64_t i = lo; i < hi; ++i) s += i;
    return s;
  }
  const std::uint64_t mid = lo + (hi - lo) / 2;
  auto left = pool.submit([&pool, lo, mid, &tasks] { return range_sum(pool, lo, mid, tasks); });
  auto right = pool.submit([&pool, mid, hi, &tasks] { return range_sum(pool, mid, hi, tasks); });
  return left.get() + right.get();
}

}  // namespace

void mixed_load::state::run_thread_pool() {
  exec::thread_pool_options o;
  o.workers = 2;
  o.name = "soak-pool";
  exec::thread_pool pool(o);
  std::atomic<std::uint64_t>& tasks = done[index(work::thread_pool)];
  while (running()) {
    constexpr std::uint64_t n = 1 << 16;
    try {
      const std::uint64_t got = pool.submit([&pool, &tasks] { return range_sum(pool, 0, n, tasks); }).get();
      if (got != n * (n - 1) / 2)
        problem(fmt::format("thread pool: range sum {} instead of {}", got, n * (n - 1) / 2), 1);
    } catch (const std::exception& e) {
      problem(fmt::format("thread pool: {}", e.what()), 1);
    }
    rest(5ms);
  }
}

// ---- Process pool: the long map, and the faults beside it ----

void mixed_load::state::run_process_map() {
  std::uint64_t next = 0;
  while (running()) {
    std::vector<std::uint64_t> items(map_segment_items);
    for (auto& v : items) v = next++;
    std::vector<std::uint64_t> results;
    bool ok = false;
    bool unexpected = false;  // an error the soak did not cause: reported, the segment not run again
    for (int attempt = 1; attempt <= map_attempts && !ok && !unexpected; ++attempt) {
      if (attempt > 1) map_reruns.fetch_add(1, std::memory_order_relaxed);
      try {
        results = pool->map(soak_map_item, items, map_chunk_items);
        ok = true;
      } catch (const proc::worker_crashed_error& e) {
        // A killed worker fails the chunk it ran, and map reports it after every chunk ended:
        // the segment runs again. Any other death is not one the soak caused.
        if (e.signal() != SIGKILL) {
          problem(fmt::format("process map: a worker died unasked: {}", e.what()), items.size());
          unexpected = true;
        }
      } catch (const std::exception& e) {
        problem(fmt::format("process map: {}", e.what()), items.size());
        unexpected = true;
      }
    }
    if (!ok) {
      if (!unexpected) {
        problem(fmt::format("process map: a segment of {} items failed {} times", items.size(), map_attempts),
                items.size());
      }
      continue;
    }
    std::uint64_t wrong = 0;
    if (results.size() != items.size()) {
      wrong = items.size();
    } else {
      for (std::size_t i = 0; i < items.size(); ++i) wrong += results[i] != mix(items[i]) ? 1 : 0;
    }
    if (wrong != 0) {
      problem(fmt::format("process map: {} of {} results wrong or missing", wrong, items.size()), wrong);
    }
    add(work::map_items, items.size() - wrong);
    map_segments.fetch_add(1, std::memory_order_relaxed);
  }
}

void mixed_load::state::run_faults() {
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_int_distribution<int> pause_ms(500, 2500);
  for (std::uint64_t turn = 0; rest(std::chrono::milliseconds(pause_ms(rng))); ++turn) {
    switch (turn % 3) {
      case 0: {  // SIGKILL a worker, whatever it is doing; the pool must replace it
        const auto before = pool->statistics();
        if (before.worker_pids.empty()) break;
        const int victim = before.worker_pids[rng() % before.worker_pids.size()];
        if (::kill(victim, SIGKILL) != 0) break;  // it just ended by itself: nothing injected
        inject(fault::sigkill);
        const auto deadline = steady::now() + 30s;
        for (;;) {
          const auto now = pool->statistics();
          const bool gone = std::find(now.worker_pids.begin(), now.worker_pids.end(), victim) == now.worker_pids.end();
          if (gone && now.started > before.started && now.worker_pids.size() == pool->size()) {
            survive(fault::sigkill);
            break;
          }
          if (steady::now() > deadline) {
            problem(fmt::format("process pool: worker {} killed 30 s ago was not replaced", victim));
            break;
          }
          std::this_thread::sleep_for(10ms);
        }
        break;
      }
      case 1: {  // a task that segfaults fails its own future only, naming SIGSEGV
        inject(fault::segfault);
        try {
          (void)pool->submit(soak_segfault, 1).get();
          problem("process pool: the segfaulting task returned a value");
        } catch (const proc::worker_crashed_error& e) {
          if (e.signal() == SIGSEGV) {
            survive(fault::segfault);
          } else {
            problem(fmt::format("process pool: the segfaulting task reported {}", e.what()));
          }
        } catch (const std::exception& e) {
          problem(fmt::format("process pool: the segfaulting task reported {}", e.what()));
        }
        break;
      }
      default: {  // a task past its timeout: its worker is killed, the future says timeout
        inject(fault::timeout);
        try {
          (void)pool
              ->submit_for(std::chrono::duration_cast<std::chrono::milliseconds>(task_timeout), soak_oversleep, 60'000)
              .get();
          problem("process pool: the task past its timeout returned a value");
        } catch (const proc::task_timeout_error&) {
          survive(fault::timeout);
        } catch (const std::exception& e) {
          problem(fmt::format("process pool: the task past its timeout reported {}", e.what()));
        }
        break;
      }
    }
  }
}

// ---- IPC: producer process -> queue -> relay process -> queue -> here ----

void mixed_load::state::run_ipc() {
  std::uint64_t first = 0;
  while (running()) {
    try {
      proc::queue<std::uint64_t> to_relay(64);
      proc::queue<std::uint64_t> back(64);
      proc::process producer(soak_produce, to_relay, first, ipc_round_values);
      proc::process relay(soak_relay, to_relay, back);
      producer.start();
      relay.start();
      std::uint64_t received = 0;
      std::uint64_t wrong = 0;
      for (;;) {
        auto r = back.receive_for(30s);
        if (r.status == sync::receive_status::closed) break;
        if (r.status != sync::receive_status::ok) {
          problem("IPC: no value from the relay process in 30 s");
          producer.kill();
          relay.kill();
          break;
        }
        if (*r.value != mix(first + received)) ++wrong;
        ++received;
      }
      const bool joined = producer.join(30s) && relay.join(30s);
      if (!joined) {
        producer.kill();
        relay.kill();
        producer.join();
        relay.join();
      }
      const std::uint64_t missing = ipc_round_values - std::min(received, ipc_round_values);
      if (wrong != 0 || missing != 0 || received != ipc_round_values) {
        problem(fmt::format("IPC: {} values wrong, {} missing of {}", wrong, missing, ipc_round_values),
                wrong + missing);
      }
      if (!joined || producer.exitcode() != 0 || relay.exitcode() != 0) {
        problem(fmt::format("IPC: the producer exited {} and the relay {}", producer.exitcode().value_or(-1),
                            relay.exitcode().value_or(-1)));
      }
      add(work::ipc_messages, received - std::min(received, wrong));
      ipc_rounds.fetch_add(1, std::memory_order_relaxed);
    } catch (const std::exception& e) {
      problem(fmt::format("IPC: {}", e.what()), ipc_round_values);
    }
    first += ipc_round_values;
    rest(20ms);
  }
}

// ---- The event loop: coroutines, timers, fetch ----

aio::task<void> mixed_load::state::gathers() {
  while (running()) {
    std::vector<aio::task<std::uint64_t>> parts;
    for (std::uint64_t i = 0; i < 64; ++i) {
      parts.push_back([](std::uint64_t v) -> aio::task<std::uint64_t> {
        co_await aio::sleep(std::chrono::microseconds(v * 20));
        co_return v* v;
      }(i));
    }
    auto all = aio::gather(std::move(parts));  // named: g++ 12 and temporaries in co_await (docs/aio.md)
    const auto got = co_await all;
    std::uint64_t wrong = 0;
    for (std::uint64_t i = 0; i < got.size(); ++i) wrong += got[i] != i * i ? 1 : 0;
    if (got.size() != 64 || wrong != 0)
      problem(fmt::format("coroutines: {} of 64 gathered results wrong", wrong), wrong);
    add(work::coroutines, got.size() - wrong);
    co_await aio::sleep(2ms);
  }
}

aio::task<void> mixed_load::state::timers(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> ms(1, 20);
  aio::event_loop& loop = *aio::event_loop::current();
  while (running()) {
    const auto want = std::chrono::milliseconds(ms(rng));
    const auto due = loop.now() + want;  // the loop's time, which its timers keep
    co_await aio::sleep_until(due);
    if (loop.now() < due) problem("timers: a sleep ended before its time", 1);
    add(work::timers);
  }
}

aio::task<void> mixed_load::state::producer(aio::queue<std::uint64_t>& q) {
  std::uint64_t next = 0;
  while (running()) {
    for (int i = 0; i < 256; ++i) {
      const std::uint64_t value = next++;  // not in the co_await operand: clang takes that for unsequenced
      co_await q.send(value);
    }
    co_await aio::sleep(1ms);
  }
  q.close();
}

aio::task<void> mixed_load::state::consumer(aio::queue<std::uint64_t>& q) {
  std::uint64_t expected = 0;
  while (auto v = co_await q.receive()) {
    if (*v != expected) {
      problem(fmt::format("coroutines: received {} from the queue where {} was next", *v, expected), 1);
      expected = *v;
    }
    ++expected;
    add(work::coroutines);
  }
}

aio::task<void> mixed_load::state::fetches() {
  struct planned {
    const char* route;
    fault kind;
    int faults;
  };
  // Each path's cycle: `faults` failures, then a success (testing::http_server's /faulty route).
  static constexpr planned plan[] = {
      {"/faulty/2/503/a", fault::http_503, 2},     {"/faulty/1/503/b", fault::http_503, 1},
      {"/faulty/1/reset/c", fault::http_reset, 1}, {"/faulty/2/reset/d", fault::http_reset, 2},
      {"/faulty/1/stall/e", fault::http_stall, 1}, {"/faulty/0/503/f", fault::http_503, 0},
  };
  http::session_options so;
  so.max_connections = 8;
  http::session session(so);
  http::fetch_options o;
  o.output_dir = downloads->path;
  o.concurrency = 8;
  o.retries = 4;   // the planned faults, and room for an attempt a busy machine slows past the timeout
  o.timeout = 1s;  // what ends a stalled attempt
  o.retry.base_delay = 10ms;
  while (running()) {
    std::vector<http::fetch_item> items;
    for (const auto& p : plan)
      items.push_back({server->url(p.route), std::filesystem::path(p.route).filename().string()});
    auto batch = http::fetch_all(session, std::move(items), o);  // named: see gathers()
    const auto results = co_await batch;
    for (std::size_t i = 0; i < results.size() && i < std::size(plan); ++i) {
      const auto& r = results[i];
      const int failed_attempts = std::max(0, r.attempts - 1);
      if (r.outcome == http::fetch_outcome::cancelled && !running()) continue;  // the soak stopped
      bool ok = r.succeeded() && r.bytes == 3;
      if (ok) {
        std::ifstream in(r.path);
        const std::string text((std::istreambuf_iterator<char>(in)), {});
        ok = text == "ok\n";
      }
      inject(plan[i].kind, static_cast<std::uint64_t>(failed_attempts));
      if (!ok) {
        problem(fmt::format("fetch: {} failed after {} attempts: {}", r.url, r.attempts, r.error), 1);
        continue;
      }
      survive(plan[i].kind, static_cast<std::uint64_t>(failed_attempts));
      if (failed_attempts > plan[i].faults) {
        extra_retries.fetch_add(static_cast<std::uint64_t>(failed_attempts - plan[i].faults),
                                std::memory_order_relaxed);
      }
      add(work::fetches);
    }
    co_await aio::sleep(100ms);
  }
}

void mixed_load::state::run_event_loop() {
  auto main = [this]() -> aio::task<void> {
    aio::queue<std::uint64_t> q(16);
    std::vector<aio::task_handle<void>> parts;
    parts.push_back(aio::spawn(gathers(), "soak gathers"));
    for (std::uint64_t i = 0; i < 16; ++i) parts.push_back(aio::spawn(timers(i + 1), "soak timer"));
    parts.push_back(aio::spawn(producer(q), "soak producer"));
    parts.push_back(aio::spawn(consumer(q), "soak consumer"));
    parts.push_back(aio::spawn(fetches(), "soak fetches"));
    for (auto& p : parts) {
      try {
        co_await p;
      } catch (const std::exception& e) {
        problem(fmt::format("event loop: a task ended with {}", e.what()));
      }
    }
  };
  try {
    aio::run(main());
  } catch (const std::exception& e) {
    problem(fmt::format("event loop: {}", e.what()));
  }
}

// ---- mixed_load ----

mixed_load::mixed_load(load_options options) : state_(std::make_shared<state>()) { state_->options = options; }

mixed_load::~mixed_load() { stop(); }

void mixed_load::start() {
  auto& s = *state_;
  proc::process_pool_options po;
  po.workers = std::max<std::size_t>(1, s.options.workers);
  s.pool = std::make_unique<proc::process_pool>(po);
  s.server.emplace();
  s.downloads.emplace("trident-soak");
  s.threads.emplace_back([&s] { s.run_thread_pool(); });
  s.threads.emplace_back([&s] { s.run_process_map(); });
  s.threads.emplace_back([&s] { s.run_faults(); });
  s.threads.emplace_back([&s] { s.run_ipc(); });
  s.threads.emplace_back([&s] { s.run_event_loop(); });
}

void mixed_load::stop() {
  auto& s = *state_;
  if (s.stopped) return;
  s.stopped = true;
  s.stop.request_stop();
  for (auto& t : s.threads) t.join();
  s.threads.clear();
  if (s.pool) s.pool->shutdown();
  s.server.reset();
  s.downloads.reset();
}

load_counts mixed_load::counts() const {
  const auto& s = *state_;
  load_counts c;
  for (std::size_t i = 0; i < c.done.size(); ++i) c.done[i] = s.done[i].load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < c.injected.size(); ++i) {
    c.injected[i] = s.injected[i].load(std::memory_order_relaxed);
    c.survived[i] = s.survived[i].load(std::memory_order_relaxed);
  }
  c.lost = s.lost.load(std::memory_order_relaxed);
  c.map_segments = s.map_segments.load(std::memory_order_relaxed);
  c.map_reruns = s.map_reruns.load(std::memory_order_relaxed);
  c.ipc_rounds = s.ipc_rounds.load(std::memory_order_relaxed);
  c.extra_retries = s.extra_retries.load(std::memory_order_relaxed);
  return c;
}

std::vector<std::string> mixed_load::problems() const {
  std::lock_guard lock(state_->mutex);
  return state_->problems;
}

proc::process_pool_statistics mixed_load::pool_statistics() const {
  return state_->pool ? state_->pool->statistics() : proc::process_pool_statistics{};
}

std::vector<std::string> mixed_load::check_pool() const {
  std::vector<std::string> out;
  if (!state_->pool) return out;
  const load_counts before = counts();
  const auto p = state_->pool->statistics();
  const load_counts after = counts();
  const std::size_t accounted = p.queued + p.in_flight + p.completed + p.crashed + p.cancelled;
  if (p.submitted != accounted) {
    out.push_back(fmt::format(
        "process pool counters: submitted {} != queued {} + in flight {} + completed {} + crashed {} + cancelled {}",
        p.submitted, p.queued, p.in_flight, p.completed, p.crashed, p.cancelled));
  }
  // A crash is counted by the pool before its future is ready, and a fault is counted as
  // injected before it is sent: so the survived ones read before the pool's counters and the
  // injected ones read after them bound the crashes from below and above.
  const std::uint64_t reported = before.survived[index(fault::segfault)] + before.survived[index(fault::timeout)];
  const std::uint64_t most = after.injected[index(fault::segfault)] + after.injected[index(fault::timeout)] +
                             after.injected[index(fault::sigkill)];
  if (p.crashed < reported || p.crashed > most) {
    out.push_back(fmt::format("process pool counters: {} tasks crashed, where the faults injected make {} to {}",
                              p.crashed, reported, most));
  }
  if (p.cancelled != 0) out.push_back(fmt::format("process pool counters: {} tasks cancelled, none was", p.cancelled));
  return out;
}

}  // namespace trident::cli::soak
