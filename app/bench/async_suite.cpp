// The `async` suite of `trident bench`: the same workloads on Trident's event loop (in this
// process), on Asio and libuv (in this process too: async_peer_asio.cpp, async_peer_libuv.cpp,
// where their packages were found at configure time) and on Python's asyncio, with its default
// loop and with uvloop (subprocesses running app/bench/compare/async/asyncio_bench.py), in one
// run, in one table.
//
// Method (the shared runner's, runner.hpp)
//   1. Per case, Trident, Asio and libuv run once untimed (sleepers_1m: with 100,000 tasks, as
//      Python's warm-up does, so no second million tasks' memory is held by the allocator).
//   2. `repeat` rounds follow; each round runs Trident, Asio and libuv once, then the Python
//      script once per loop (`--repeat 1`; the script warms up inside its own process first), so
//      a burst of load from other processes on a shared machine hits every implementation alike.
//   3. The median of the rounds is reported, with its range. Costs (s, µs, ns, B) are
//      lower-is-better, rates (tcp_echo, round trips/s) higher-is-better.
//
// Memory (sleepers_1m_bytes): before each sleepers_1m run, freed heap is given back to the
// kernel (malloc_trim), the peak RSS is reset to the current RSS (/proc/self/clear_refs: 5) and
// VmRSS is read; after the run, (VmHWM - that VmRSS) / 1,000,000. Python does the same in its
// own process (plus gc.collect()).

#include <fcntl.h>
#include <malloc.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <coroutine>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "async_peers.hpp"
#include "bench_suites.hpp"
#include "report.hpp"
#include "runner.hpp"
#include "trident/aio/event_loop.hpp"
#include "trident/aio/gather.hpp"
#include "trident/aio/run.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/aio/spawn.hpp"
#include "trident/aio/task.hpp"
#include "trident/aio/tcp_server.hpp"
#include "trident/aio/tcp_stream.hpp"

#ifndef TRIDENT_BENCH_ASIO
#define TRIDENT_BENCH_ASIO 0
#endif
#ifndef TRIDENT_BENCH_LIBUV
#define TRIDENT_BENCH_LIBUV 0
#endif

namespace trident::bench {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t gather_count = 100'000;
constexpr std::size_t ready_count = 10'000'000;

/// Keeps the compiler from merging loop iterations (e.g. summing a value loaded once).
inline void clobber_memory() noexcept { asm volatile("" ::: "memory"); }

// -- RSS ---------------------------------------------------------------------------------------

/// A field of /proc/self/status in bytes ("VmRSS", "VmHWM").
double status_bytes(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(field + ":")) return std::stod(line.substr(field.size() + 1)) * 1024;
  }
  throw std::runtime_error(fmt::format("{} not in /proc/self/status", field));
}

/// Gives freed heap back, resets VmHWM to the current RSS, and returns that RSS in bytes.
double reset_peak_rss() {
  ::malloc_trim(0);
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
  clear.close();
  if (!clear) throw std::runtime_error("cannot reset the peak RSS through /proc/self/clear_refs");
  return status_bytes("VmRSS");
}

// -- Trident workloads -------------------------------------------------------------------------
// Free functions, not lambdas: a coroutine must not outlive the closure it was created from.

aio::task<void> sleeper() { co_await aio::sleep(1s); }

/// Spawns `n` sleepers, awaits each handle in turn; returns wall time minus the 1 s sleep.
aio::task<double> sleepers_main(std::size_t n) {
  auto& loop = aio::event_loop::running();
  stopwatch clock;
  std::vector<aio::task_handle<void>> handles;
  handles.reserve(n);
  for (std::size_t i = 0; i < n; ++i) handles.push_back(aio::spawn(loop, sleeper()));
  for (auto& h : handles) co_await h;
  co_return clock.seconds() - 1.0;
}

aio::task<int> returns_at_once(int i) { co_return i; }

/// µs per task: creating the coroutines, gathering them, and having every value.
aio::task<double> gather_main(std::size_t n) {
  stopwatch clock;
  std::vector<aio::task<int>> tasks;
  tasks.reserve(n);
  for (std::size_t i = 0; i < n; ++i) tasks.push_back(returns_at_once(static_cast<int>(i)));
  auto values = co_await aio::gather(std::move(tasks));
  const double s = clock.seconds();
  check(values.size() == n && values.back() == static_cast<int>(n - 1), "gather_100k/trident values");
  co_return s / static_cast<double>(n) * 1e6;
}

aio::task<int> ready_one() { co_return 1; }

/// ns per `co_await ready_one()`: a new coroutine each time, which runs to its end at once.
aio::task<double> ready_await_main() {
  long long total = 0;
  stopwatch clock;
  for (std::size_t i = 0; i < ready_count; ++i) {
    total += co_await ready_one();
    clobber_memory();
  }
  const double s = clock.seconds();
  check(total == static_cast<long long>(ready_count), "ready_await/trident sum");
  co_return s / static_cast<double>(ready_count) * 1e9;
}

/// ns per `co_await handle` on a task_handle whose task has already finished: no coroutine is
/// created and nothing suspends (Python: awaiting a done Future).
aio::task<double> ready_await_done_main() {
  auto handle = aio::spawn(ready_one());
  check(co_await handle == 1, "ready_await_done/trident first await");
  long long total = 0;
  stopwatch clock;
  for (std::size_t i = 0; i < ready_count; ++i) {
    total += co_await handle;
    clobber_memory();
  }
  const double s = clock.seconds();
  check(total == static_cast<long long>(ready_count), "ready_await_done/trident sum");
  co_return s / static_cast<double>(ready_count) * 1e9;
}

/// An awaitable that is always ready and hands back 1: awaiting it suspends nothing and calls
/// nothing.
struct ready_value {
  bool await_ready() const noexcept { return true; }
  void await_suspend(std::coroutine_handle<>) const noexcept {}
  int await_resume() const noexcept { return 1; }
};

/// ns per `co_await ready_value{}` in the loop of the two cases above: what the loop itself costs
/// on this compiler and machine, the floor under both. g++ keeps a coroutine's locals in its
/// frame, so the counter and the sum go through memory on every iteration whatever is awaited.
aio::task<double> await_floor_main() {
  long long total = 0;
  stopwatch clock;
  for (std::size_t i = 0; i < ready_count; ++i) {
    total += co_await ready_value{};
    clobber_memory();
  }
  const double s = clock.seconds();
  check(total == static_cast<long long>(ready_count), "await_floor/trident sum");
  co_return s / static_cast<double>(ready_count) * 1e9;
}

// tcp_echo: an echo server in a second process, and 50 client connections on this thread's
// loop, each writing 64 bytes and reading them back.

constexpr std::size_t echo_connections = 50;
constexpr std::size_t echo_message_bytes = 64;

double echo_seconds() {
  const char* env = std::getenv("TRIDENT_BENCH_ECHO_SECONDS");
  return std::min(10.0, env != nullptr ? std::stod(env) : 3.0);
}

aio::task<void> echo_back(aio::tcp_stream stream) {
  for (;;) {
    std::string data = co_await stream.read();
    if (data.empty()) co_return;
    stream.write(data);
    co_await stream.drain();
  }
}

aio::task<void> serve_echo() {
  auto server = co_await aio::start_server(echo_back, "127.0.0.1", 0);
  std::printf("%u\n", static_cast<unsigned>(server.port()));
  std::fflush(stdout);
  co_await aio::sleep(std::chrono::hours(24));  // until the loop is stopped
}

constexpr const char* echo_server_variable = "TRIDENT_BENCH_ECHO_SERVER";

/// The echo server process: this program again (`/proc/self/exe` with the same suite and case),
/// told by the environment to serve instead of measuring: TRIDENT_BENCH_ECHO_SERVER=1 for
/// Trident's server, =asio or =libuv for those peers' servers. A process, not a thread, as
/// Python's server is: two threads of one process measured slower here than two processes for
/// both server and client. It prints its port, and ends when its standard input closes (so also
/// when the benchmark dies).
class echo_server_process {
 public:
  explicit echo_server_process(const std::string& kind) {
    int to_child[2];
    int from_child[2];
    if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(from_child, O_CLOEXEC) != 0) {
      throw std::system_error(errno, std::generic_category(), "pipe2 for the echo server");
    }
    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawn_file_actions_adddup2(&actions, to_child[0], STDIN_FILENO);
    ::posix_spawn_file_actions_adddup2(&actions, from_child[1], STDOUT_FILENO);
    std::string variable = std::string(echo_server_variable) + "=" + kind;
    std::vector<char*> env;
    for (char** e = environ; *e != nullptr; ++e) env.push_back(*e);
    env.push_back(variable.data());
    env.push_back(nullptr);
    std::string self = "/proc/self/exe", bench = "bench", suite = "async", case_flag = "--case", name = "tcp_echo";
    char* argv[] = {self.data(), bench.data(), suite.data(), case_flag.data(), name.data(), nullptr};
    const int rc = ::posix_spawn(&pid_, "/proc/self/exe", &actions, nullptr, argv, env.data());
    ::posix_spawn_file_actions_destroy(&actions);
    ::close(to_child[0]);
    ::close(from_child[1]);
    stdin_ = to_child[1];
    if (rc != 0) {
      ::close(from_child[0]);
      ::close(stdin_);
      throw std::system_error(rc, std::generic_category(), "starting the echo server process");
    }
    char line[32] = {};
    std::size_t got = 0;
    while (got + 1 < sizeof line) {
      const ssize_t n = ::read(from_child[0], line + got, 1);
      if (n <= 0 || line[got] == '\n') break;
      got += static_cast<std::size_t>(n);
    }
    ::close(from_child[0]);
    port_ = static_cast<std::uint16_t>(std::atoi(line));
    if (port_ == 0) {
      stop();
      throw std::runtime_error("the echo server process did not report its port");
    }
  }
  echo_server_process(const echo_server_process&) = delete;
  echo_server_process& operator=(const echo_server_process&) = delete;
  ~echo_server_process() { stop(); }
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

 private:
  void stop() noexcept {
    if (stdin_ >= 0) ::close(std::exchange(stdin_, -1));
    if (pid_ > 0) {
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {}
      pid_ = 0;
    }
  }
  pid_t pid_ = 0;
  int stdin_ = -1;
  std::uint16_t port_ = 0;
};

/// The body of the echo server process, on the loop backend `backend`; returns its exit code.
int run_echo_server(aio::loop_backend backend) {
  aio::event_loop loop(aio::loop_options{.backend = backend});
  // Standard input closing is the signal to end: a thread waits for it and stops the loop.
  std::thread watcher([&loop] {
    char c;
    while (::read(STDIN_FILENO, &c, 1) > 0) {}
    loop.stop();
  });
  try {
    aio::run_until_complete(loop, serve_echo());
  } catch (const cancelled_error&) {
    // stop() ends it
  }
  watcher.join();
  return 0;
}

aio::task<void> echo_client(std::uint16_t port, aio::clock::time_point end, std::uint64_t* round_trips) {
  auto stream = co_await aio::open_connection("127.0.0.1", port);
  const std::string message(echo_message_bytes, 'x');
  while (aio::clock::now() < end) {
    stream.write(message);
    const std::string back = co_await stream.read_exactly(echo_message_bytes);
    check(back == message, "tcp_echo/trident echoed bytes");
    ++*round_trips;
  }
}

/// Round trips per second over `seconds`.
aio::task<double> tcp_echo_main(std::uint16_t port, double seconds) {
  std::uint64_t round_trips = 0;
  stopwatch clock;
  const auto end =
      aio::clock::now() + std::chrono::duration_cast<aio::clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<aio::task<void>> clients;
  for (std::size_t i = 0; i < echo_connections; ++i) clients.push_back(echo_client(port, end, &round_trips));
  co_await aio::gather(std::move(clients));
  co_return static_cast<double>(round_trips) / clock.seconds();
}

// -- cases -------------------------------------------------------------------------------------

/// The suite's goals: Trident's median against a bound, or its advantage over a peer.
std::vector<target> targets() {
  return {
      {"sleepers_1m", "trident", "uvloop", 50, ">=50x uvloop"},
      {"sleepers_1m_bytes", "trident", "", 200, "<=200 B"},
      {"gather_100k", "trident", "asyncio", 100, ">=100x asyncio"},
      {"ready_await", "trident", "", 5, "<=5 ns"},
      {"ready_await_done", "trident", "", 2, "<=2 ns"},
      {"tcp_echo", "trident", "uvloop", 1.15, ">=1.15x uvloop"},
      {"tcp_echo", "trident", "asio", 1.2, ">=1.2x asio"},
  };
}

/// Rates (per second) are higher-is-better; every other unit here is a cost.
bool higher_is_better(const std::string& unit) { return unit.ends_with("/s"); }

}  // namespace

int run_async_suite(const bench_options& options) {
  if (const char* serve = std::getenv(echo_server_variable); serve != nullptr && serve[0] != '\0') {
    const std::string kind = serve;
    if (kind == "1") return run_echo_server(aio::loop_backend::automatic);
    if (kind == "epoll") return run_echo_server(aio::loop_backend::epoll);
    if (kind == "uring") return run_echo_server(aio::loop_backend::io_uring);
#if TRIDENT_BENCH_ASIO
    if (kind == "asio") return asio_peer::serve_echo();
#endif
#if TRIDENT_BENCH_LIBUV
    if (kind == "libuv") return libuv_peer::serve_echo();
#endif
    std::cerr << fmt::format("{}={}: no such echo server in this build\n", echo_server_variable, kind);
    return 2;
  }
  suite_runner runner("async", options, std::chrono::milliseconds(20));
  std::vector<std::shared_ptr<implementation>> python_loops;
  for (const char* loop : {"asyncio", "uvloop"}) {
    python_loops.push_back(
        external_impl::python_script(loop, "async/asyncio_bench.py", fmt::format("--loop {}", loop)));
  }
  // A case: its rows, Trident's warm-up and run (one value per row), and the C/C++ peers that
  // have it (run in this process, after Trident and before Python, in each round). Python runs
  // every case but await_floor (`python`), which has no Python counterpart: the cheapest thing
  // Python can await is a done Future, which ready_await_done measures already.
  const auto add_case = [&](std::vector<row_spec> rows, std::function<void()> warm_up, in_process_impl::run_fn run,
                            std::vector<std::shared_ptr<implementation>> peers = {}, bool python = true) {
    for (auto& r : rows) r.higher_is_better = higher_is_better(r.unit);
    bench_case c{std::move(rows), "", {}, {}, {}};
    c.impls.push_back(std::make_shared<in_process_impl>("trident", std::move(run), std::move(warm_up)));
    for (auto& p : peers) c.impls.push_back(std::move(p));
    if (python) {
      for (const auto& p : python_loops) c.impls.push_back(p);
    }
    runner.add(std::move(c));
  };
  // A peer's run of a case, with its warm-up.
  [[maybe_unused]] const auto peer = [](const char* name, std::function<void()> warm_up, in_process_impl::run_fn run) {
    return std::make_shared<in_process_impl>(name, std::move(run), std::move(warm_up));
  };
  // sleepers_1m's run on any implementation: its time and its bytes per task.
  const auto sleepers_1m_run = [](std::function<double(std::size_t)> sleepers) {
    return [sleepers = std::move(sleepers)] {
      const double base = reset_peak_rss();
      const double s = sleepers(1'000'000);
      return std::vector<double>{s, (status_bytes("VmHWM") - base) / 1e6};
    };
  };
  std::vector<std::shared_ptr<implementation>> sleepers_100k_peers, sleepers_1m_peers, gather_peers, ready_peers,
      echo_peers;
  // The peers' echo servers: started by their warm-ups, stopped at the end.
  std::optional<echo_server_process> asio_server, libuv_server, other_backend_server;
  [[maybe_unused]] const auto echo = [](std::uint16_t port, double seconds) {
    return echo_parameters{port, seconds, echo_connections, echo_message_bytes};
  };
  // The event loop's other backend (docs/aio.md, "Backends"), where it runs: `trident` is the
  // default one (TRIDENT_LOOP_BACKEND included), `trident_epoll` or `trident_uring` the other.
  const aio::loop_backend default_backend = aio::event_loop().backend();
  const aio::loop_backend other_backend =
      default_backend == aio::loop_backend::io_uring ? aio::loop_backend::epoll : aio::loop_backend::io_uring;
  const char* other_kind = other_backend == aio::loop_backend::io_uring ? "uring" : "epoll";
  bool other_runs = true;
  try {
    aio::event_loop probe(aio::loop_options{.backend = other_backend});
  } catch (const std::system_error& e) {
    other_runs = false;
    runner.note(fmt::format("trident_{}: not run ({})", other_kind, e.what()));
  }
  if (other_runs) {
    const aio::loop_options other{.backend = other_backend};
    echo_peers.push_back(peer(
        other_backend == aio::loop_backend::io_uring ? "trident_uring" : "trident_epoll",
        [&, other, other_kind] {
          other_backend_server.emplace(other_kind);
          (void)aio::run(tcp_echo_main(other_backend_server->port(), 0.5), other);
        },
        [&, other] {
          return std::vector<double>{aio::run(tcp_echo_main(other_backend_server->port(), echo_seconds()), other)};
        }));
  }
  runner.note(fmt::format("trident: the event loop's default backend here, {}", aio::to_string(default_backend)));
#if TRIDENT_BENCH_ASIO
  sleepers_100k_peers.push_back(peer(
      "asio", [] { (void)asio_peer::sleepers(100'000); },
      [] { return std::vector<double>{asio_peer::sleepers(100'000)}; }));
  sleepers_1m_peers.push_back(peer(
      "asio", [] { (void)asio_peer::sleepers(100'000); }, sleepers_1m_run(asio_peer::sleepers)));
  gather_peers.push_back(peer(
      "asio", [] { (void)asio_peer::gather(gather_count); },
      [] { return std::vector<double>{asio_peer::gather(gather_count)}; }));
  ready_peers.push_back(peer(
      "asio", [] { (void)asio_peer::ready_await(ready_count); },
      [] { return std::vector<double>{asio_peer::ready_await(ready_count)}; }));
  echo_peers.push_back(peer(
      "asio",
      [&] {
        asio_server.emplace("asio");
        (void)asio_peer::tcp_echo(echo(asio_server->port(), 0.5));
      },
      [&] { return std::vector<double>{asio_peer::tcp_echo(echo(asio_server->port(), echo_seconds()))}; }));
#else
  runner.note(
      "asio: not built (Asio's header asio.hpp was not found at configure time; Debian: apt-get install "
      "libasio-dev), so no asio rows");
#endif
#if TRIDENT_BENCH_LIBUV
  sleepers_100k_peers.push_back(peer(
      "libuv", [] { (void)libuv_peer::sleepers(100'000); },
      [] { return std::vector<double>{libuv_peer::sleepers(100'000)}; }));
  sleepers_1m_peers.push_back(peer(
      "libuv", [] { (void)libuv_peer::sleepers(100'000); }, sleepers_1m_run(libuv_peer::sleepers)));
  echo_peers.push_back(peer(
      "libuv",
      [&] {
        libuv_server.emplace("libuv");
        (void)libuv_peer::tcp_echo(echo(libuv_server->port(), 0.5));
      },
      [&] { return std::vector<double>{libuv_peer::tcp_echo(echo(libuv_server->port(), echo_seconds()))}; }));
#else
  runner.note(
      "libuv: not built (pkg-config found no libuv at configure time; Debian: apt-get install libuv1-dev), "
      "so no libuv rows");
#endif
  add_case(
      {{"sleepers_100k", "s"}}, [] { (void)aio::run(sleepers_main(100'000)); },
      [] { return std::vector<double>{aio::run(sleepers_main(100'000))}; }, sleepers_100k_peers);
  add_case(
      {{"sleepers_1m", "s"}, {"sleepers_1m_bytes", "B/task"}}, [] { (void)aio::run(sleepers_main(100'000)); },
      sleepers_1m_run([](std::size_t n) { return aio::run(sleepers_main(n)); }), sleepers_1m_peers);
  add_case(
      {{"gather_100k", "us/task"}}, [] { (void)aio::run(gather_main(gather_count)); },
      [] { return std::vector<double>{aio::run(gather_main(gather_count))}; }, gather_peers);
  add_case(
      {{"ready_await", "ns"}}, [] { (void)aio::run(ready_await_main()); },
      [] { return std::vector<double>{aio::run(ready_await_main())}; }, ready_peers);
  add_case(
      {{"ready_await_done", "ns"}}, [] { (void)aio::run(ready_await_done_main()); },
      [] { return std::vector<double>{aio::run(ready_await_done_main())}; });
  add_case(
      {{"await_floor", "ns"}}, [] { (void)aio::run(await_floor_main()); },
      [] { return std::vector<double>{aio::run(await_floor_main())}; }, {}, /*python=*/false);
  std::optional<echo_server_process> server;  // started by the warm-up, stopped at the end
  add_case(
      {{"tcp_echo", "rt/s"}},
      [&server] {
        server.emplace("1");
        (void)aio::run(tcp_echo_main(server->port(), 0.5));
      },
      [&server] { return std::vector<double>{aio::run(tcp_echo_main(server->port(), echo_seconds()))}; }, echo_peers);

  for (auto& t : targets()) runner.add_target(std::move(t));
  runner.check_requested_cases();
  runner.note(
      fmt::format("median of {} round(s); each round runs {} (in this process, each warmed up once "
                  "first), then asyncio_bench.py once per Python loop (which warms up in its own process "
                  "first)",
                  options.repeat,
                  TRIDENT_BENCH_ASIO && TRIDENT_BENCH_LIBUV ? "trident, asio and libuv"
                  : TRIDENT_BENCH_ASIO                      ? "trident and asio"
                  : TRIDENT_BENCH_LIBUV                     ? "trident and libuv"
                                                            : "trident"));
  suite_results out = runner.run();
  server.reset();
  other_backend_server.reset();
  asio_server.reset();
  libuv_server.reset();

  if (runner.wanted("ready_await") || runner.wanted("ready_await_done") || runner.wanted("await_floor")) {
    out.notes.push_back(fmt::format(
        "ready_await: `co_await ready_one()` on a new task<int> that co_returns at once, {} times (Python: "
        "`await ready()`, 1,000,000 times); ready_await_done: `co_await handle` on a task_handle<int> whose task "
        "already finished, {} times (Python: `await fut` on a done Future); await_floor: the same loop awaiting an "
        "always-ready awaitable that does nothing, the floor under both (the loop's counter and sum live in the "
        "coroutine frame)",
        ready_count, ready_count));
  }
  if (TRIDENT_BENCH_ASIO && (runner.wanted("gather_100k") || runner.wanted("sleepers_100k") ||
                             runner.wanted("sleepers_1m") || runner.wanted("ready_await"))) {
    out.notes.push_back(
        "asio: one io_context(1) on this thread; sleepers: co_spawn of coroutines each awaiting a 1 s steady_timer; "
        "gather_100k: co_spawn of coroutines that co_return at once, each completion handler storing its value and "
        "counting, the last one waking the gathering coroutine (Asio 1.22 has no gather over a run-time count); "
        "ready_await: `co_await ready_one()` on an asio::awaitable<int>");
  }
  if (TRIDENT_BENCH_LIBUV && (runner.wanted("sleepers_100k") || runner.wanted("sleepers_1m"))) {
    out.notes.push_back(
        "libuv: sleepers are bare uv_timer_t firing once after 1 s (no coroutine: libuv has none, "
        "nor gather or ready_await rows)");
  }
  if (runner.wanted("sleepers_1m_bytes")) {
    out.notes.push_back(
        "sleepers_1m_bytes: (peak RSS - RSS before) / 1,000,000 over a sleepers_1m run, the vector of "
        "handles (Python: list of tasks; libuv: vector of uv_timer_t) included");
  }
  if (runner.wanted("tcp_echo")) {
    out.notes.push_back(fmt::format(
        "tcp_echo: {} connections on 127.0.0.1, 64-byte messages, {:.1g} s a run (TRIDENT_BENCH_ECHO_SECONDS); "
        "each server runs in a second process",
        echo_connections, echo_seconds()));
  }
  return report_suite_results(out, options);
}

}  // namespace trident::bench
