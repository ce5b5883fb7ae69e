// The `async` suite of `trident bench`: the same workloads on Trident's event loop (in this
// process) and on Python's asyncio, with its default loop and with uvloop (subprocesses running
// benchmarks/compare/async/asyncio_bench.py), in one run, in one table.
//
// Method
//   1. Per case, Trident runs once untimed (sleepers_1m: with 100,000 tasks, as Python's
//      warm-up does, so no second million tasks' memory is held by the allocator).
//   2. `repeat` rounds follow; each round runs Trident once, then the Python script once per
//      loop (`--repeat 1`; the script warms up inside its own process first), so a burst of load
//      from other processes on a shared machine hits every implementation alike.
//   3. The median of the rounds is reported. Costs (s, µs, ns, B) are lower-is-better, rates
//      (tcp_echo, round trips/s) higher-is-better.
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
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "bench_suites.hpp"
#include "compare_scripts.hpp"
#include "report.hpp"
#include "trident/aio/event_loop.hpp"
#include "trident/aio/gather.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/aio/spawn.hpp"
#include "trident/aio/task.hpp"
#include "trident/aio/tcp_server.hpp"
#include "trident/aio/tcp_stream.hpp"

namespace trident::bench {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t gather_count = 100'000;
constexpr std::size_t ready_count = 10'000'000;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(fmt::format("benchmark self-check failed: {}", what));
}

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
/// told by the environment to serve instead of measuring. A process, not a thread, as Python's
/// server is: two threads of one process measured slower here than two processes for both
/// server and client. It prints its port, and ends when its standard input closes (so also
/// when the benchmark dies).
class echo_server_process {
 public:
  echo_server_process() {
    int to_child[2];
    int from_child[2];
    if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(from_child, O_CLOEXEC) != 0) {
      throw std::system_error(errno, std::generic_category(), "pipe2 for the echo server");
    }
    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawn_file_actions_adddup2(&actions, to_child[0], STDIN_FILENO);
    ::posix_spawn_file_actions_adddup2(&actions, from_child[1], STDOUT_FILENO);
    std::string variable = std::string(echo_server_variable) + "=1";
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
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      pid_ = 0;
    }
  }
  pid_t pid_ = 0;
  int stdin_ = -1;
  std::uint16_t port_ = 0;
};

/// The body of the echo server process; returns its exit code.
int run_echo_server() {
  aio::event_loop loop;
  // Standard input closing is the signal to end: a thread waits for it and stops the loop.
  std::thread watcher([&loop] {
    char c;
    while (::read(STDIN_FILENO, &c, 1) > 0) {
    }
    loop.stop();
  });
  try {
    loop.run_until_complete(serve_echo());
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
  const auto end = aio::clock::now() + std::chrono::duration_cast<aio::clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<aio::task<void>> clients;
  for (std::size_t i = 0; i < echo_connections; ++i) clients.push_back(echo_client(port, end, &round_trips));
  co_await aio::gather(std::move(clients));
  co_return static_cast<double>(round_trips) / clock.seconds();
}

// -- Python subprocesses -----------------------------------------------------------------------

struct python_run {
  std::vector<result> rows;
  std::vector<std::string> notes;
  bool ok = true;
};

/// Runs the script for one loop and the given cases; parses its JSON lines and notes.
python_run run_python(const std::string& loop, const std::vector<std::string>& cases, int repeat) {
  std::string cmd = fmt::format("{} {} --loop {} --repeat {}", shell_quote(python_interpreter()),
                                shell_quote(compare_script("async/asyncio_bench.py")), loop, repeat);
  for (const auto& c : cases) cmd += " --case " + c;
  const script_output script = run_script(cmd);
  python_run out;
  out.ok = script.ok;
  out.notes = script.notes;
  for (const auto& r : script.rows) out.rows.push_back(result{"async", r.case_name, r.impl, r.value, r.unit, false, ""});
  if (!script.ok) out.notes.push_back(fmt::format("{}: no {} rows from this run", script.failure, loop));
  return out;
}

// -- cases -------------------------------------------------------------------------------------

struct row_def {
  std::string name;  ///< The case this row reports.
  std::string unit;
};

/// One group of rows measured by the same runs (sleepers_1m gives two: time and bytes).
struct case_def {
  std::vector<row_def> rows;
  std::function<void()> warm_up;
  std::function<std::vector<double>()> run;  // one value per row
};

struct target_def {
  std::string versus;  ///< "", "asyncio" or "uvloop"
  double bound;        ///< trident <= bound (absolute), or ratio >= bound (versus a peer)
  std::string text;
};

const std::map<std::string, target_def>& targets() {
  static const std::map<std::string, target_def> t{
      {"sleepers_1m", {"uvloop", 50, ">=50x uvloop"}},
      {"sleepers_1m_bytes", {"", 250, "<=250 B"}},
      {"gather_100k", {"asyncio", 100, ">=100x asyncio"}},
      {"ready_await", {"", 5, "<=5 ns"}},
      {"tcp_echo", {"uvloop", 1.8, ">=1.8x uvloop"}},
  };
  return t;
}

const std::vector<std::string>& case_names() {
  static const std::vector<std::string> names{"sleepers_100k", "sleepers_1m",      "sleepers_1m_bytes", "gather_100k",
                                              "ready_await",   "ready_await_done", "tcp_echo"};
  return names;
}

std::string format_value(double v) {
  if (v == 0) return "0";
  if (std::abs(v) >= 1e4) return fmt::format("{:.0f}", v);
  return fmt::format("{:.4g}", v);
}

const result* find(const std::vector<result>& rows, const std::string& case_name, const std::string& impl) {
  for (const auto& r : rows) {
    if (r.case_name == case_name && r.impl == impl) return &r;
  }
  return nullptr;
}

/// Rates (per second) are higher-is-better; every other unit here is a cost.
bool higher_is_better(const std::string& unit) { return unit.ends_with("/s"); }

/// Trident's advantage over `peer`: peer / trident for costs, trident / peer for rates.
std::optional<double> advantage(const std::vector<result>& rows, const std::string& c, const std::string& peer) {
  const result* t = find(rows, c, "trident");
  const result* p = find(rows, c, peer);
  if (t == nullptr || p == nullptr || t->value <= 0 || p->value <= 0) return std::nullopt;
  return higher_is_better(t->unit) ? t->value / p->value : p->value / t->value;
}

void print_async_table(std::ostream& out, const std::vector<result>& rows, const std::vector<std::string>& notes) {
  out << fmt::format("{:<18} {:<8} {:>10} {:>10} {:>10} {:>10} {:>10}  {}\n", "case", "unit", "trident", "asyncio",
                     "uvloop", "vs asyncio", "vs uvloop", "target");
  std::vector<std::string> seen;
  for (const auto& r : rows) {
    if (std::find(seen.begin(), seen.end(), r.case_name) != seen.end()) continue;
    seen.push_back(r.case_name);
    const auto cell = [&](const std::string& impl) {
      const result* x = find(rows, r.case_name, impl);
      return x != nullptr ? format_value(x->value) : std::string("-");
    };
    const auto ratio = [&](const std::string& peer) {
      const auto a = advantage(rows, r.case_name, peer);
      return a ? fmt::format("{:.1f}x", *a) : std::string("-");
    };
    std::string target;
    if (auto it = targets().find(r.case_name); it != targets().end()) {
      const auto& t = it->second;
      std::optional<bool> met;
      if (t.versus.empty()) {
        if (const result* x = find(rows, r.case_name, "trident")) met = x->value <= t.bound;
      } else if (const auto a = advantage(rows, r.case_name, t.versus)) {
        met = *a >= t.bound;
      }
      target = fmt::format("{} {}", t.text, !met ? "(no figure)" : *met ? "met" : "MISSED");
    }
    out << fmt::format("{:<18} {:<8} {:>10} {:>10} {:>10} {:>10} {:>10}  {}\n", r.case_name, r.unit, cell("trident"),
                       cell("asyncio"), cell("uvloop"), ratio("asyncio"), ratio("uvloop"), target);
  }
  out << "\nvs X: how many times better Trident's figure is than X's (X / trident for costs, trident / X for "
         "rates such as rt/s)\n";
  for (const auto& n : notes) out << "note: " << n << '\n';
}

void settle() { std::this_thread::sleep_for(std::chrono::milliseconds(20)); }

}  // namespace

int run_async_suite(const bench_options& options) {
  if (const char* serve = std::getenv(echo_server_variable); serve != nullptr && serve[0] == '1') {
    return run_echo_server();
  }
  for (const auto& c : options.cases) {
    if (std::find(case_names().begin(), case_names().end(), c) == case_names().end()) {
      throw std::invalid_argument(
          fmt::format("unknown case '{}' for suite 'async' (valid: {})", c, fmt::join(case_names(), ", ")));
    }
  }
  const auto wanted = [&](const std::string& c) {
    return options.cases.empty() || std::find(options.cases.begin(), options.cases.end(), c) != options.cases.end();
  };

  std::vector<std::string> notes;
  notes.push_back(fmt::format("median of {} round(s); each round runs trident, then asyncio_bench.py once per "
                              "Python loop (which warms up in its own process first)",
                              options.repeat));

  std::vector<case_def> cases;
  {
    case_def c;
    c.rows = {{"sleepers_100k", "s"}};
    c.warm_up = [] { (void)aio::run(sleepers_main(100'000)); };
    c.run = [] { return std::vector<double>{aio::run(sleepers_main(100'000))}; };
    cases.push_back(std::move(c));
  }
  {
    case_def c;
    c.rows = {{"sleepers_1m", "s"}, {"sleepers_1m_bytes", "B/task"}};
    c.warm_up = [] { (void)aio::run(sleepers_main(100'000)); };
    c.run = [] {
      const double base = reset_peak_rss();
      const double s = aio::run(sleepers_main(1'000'000));
      return std::vector<double>{s, (status_bytes("VmHWM") - base) / 1e6};
    };
    cases.push_back(std::move(c));
  }
  {
    case_def c;
    c.rows = {{"gather_100k", "us/task"}};
    c.warm_up = [] { (void)aio::run(gather_main(gather_count)); };
    c.run = [] { return std::vector<double>{aio::run(gather_main(gather_count))}; };
    cases.push_back(std::move(c));
  }
  {
    case_def c;
    c.rows = {{"ready_await", "ns"}};
    c.warm_up = [] { (void)aio::run(ready_await_main()); };
    c.run = [] { return std::vector<double>{aio::run(ready_await_main())}; };
    cases.push_back(std::move(c));
  }
  {
    case_def c;
    c.rows = {{"ready_await_done", "ns"}};
    c.warm_up = [] { (void)aio::run(ready_await_done_main()); };
    c.run = [] { return std::vector<double>{aio::run(ready_await_done_main())}; };
    cases.push_back(std::move(c));
  }

  {
    case_def c;
    c.rows = {{"tcp_echo", "rt/s"}};
    auto server = std::make_shared<std::optional<echo_server_process>>();
    c.warm_up = [server] {
      server->emplace();
      (void)aio::run(tcp_echo_main((*server)->port(), 0.5));
    };
    c.run = [server] {
      const double rate = aio::run(tcp_echo_main((*server)->port(), echo_seconds()));
      return std::vector<double>{rate};
    };
    cases.push_back(std::move(c));
  }

  const std::vector<std::string> python_loops{"asyncio", "uvloop"};
  std::map<std::string, bool> loop_failed;
  std::vector<result> rows;
  for (auto& c : cases) {
    std::vector<std::string> names;
    for (const auto& r : c.rows) {
      if (wanted(r.name)) names.push_back(r.name);
    }
    if (names.empty()) continue;

    c.warm_up();
    settle();
    std::vector<std::vector<double>> trident_samples(c.rows.size());
    std::map<std::pair<std::string, std::string>, std::vector<double>> python_samples;  // (loop, case)
    std::map<std::pair<std::string, std::string>, std::string> python_units;
    for (int round = 0; round < options.repeat; ++round) {
      const auto values = c.run();
      for (std::size_t i = 0; i < c.rows.size(); ++i) trident_samples[i].push_back(values[i]);
      settle();
      for (const auto& loop : python_loops) {
        if (loop_failed[loop]) continue;
        auto py = run_python(loop, names, 1);
        for (auto& n : py.notes) {
          if (std::find(notes.begin(), notes.end(), n) == notes.end()) notes.push_back(std::move(n));
        }
        if (!py.ok || py.rows.empty()) {
          loop_failed[loop] = true;  // not there, or broken: no rows for this loop from now on
          continue;
        }
        for (const auto& r : py.rows) {
          python_samples[{loop, r.case_name}].push_back(r.value);
          python_units[{loop, r.case_name}] = r.unit;
        }
        settle();
      }
    }

    for (std::size_t i = 0; i < c.rows.size(); ++i) {
      if (!wanted(c.rows[i].name)) continue;
      std::vector<result> group;
      group.push_back(result{"async", c.rows[i].name, "trident", median(trident_samples[i]), c.rows[i].unit, false, ""});
      for (const auto& loop : python_loops) {
        auto it = python_samples.find({loop, c.rows[i].name});
        if (it == python_samples.end()) continue;
        group.push_back(result{"async", c.rows[i].name, loop, median(it->second), python_units[it->first], false, ""});
      }
      for (auto& r : group) {
        if (options.json) {
          print_json_line(std::cout, r);
          std::cout.flush();
        }
        rows.push_back(std::move(r));
      }
    }
  }

  if (wanted("ready_await") || wanted("ready_await_done")) {
    notes.push_back(fmt::format(
        "ready_await: `co_await ready_one()` on a new task<int> that co_returns at once, {} times (Python: "
        "`await ready()`, 1,000,000 times); ready_await_done: `co_await handle` on a task_handle<int> whose task "
        "already finished, {} times (Python: `await fut` on a done Future)",
        ready_count, ready_count));
  }
  if (wanted("sleepers_1m_bytes")) {
    notes.push_back("sleepers_1m_bytes: (peak RSS - RSS before) / 1,000,000 over a sleepers_1m run, the vector of "
                    "handles (Python: list of tasks) included");
  }
  if (wanted("tcp_echo")) {
    notes.push_back(fmt::format(
        "tcp_echo: {} connections on 127.0.0.1, 64-byte messages, {:.1g} s a run (TRIDENT_BENCH_ECHO_SECONDS); "
        "each server runs in a second process",
        echo_connections, echo_seconds()));
  }
  if (options.json) {
    for (const auto& n : notes) std::cerr << "note: " << n << '\n';
  } else {
    print_async_table(std::cout, rows, notes);
  }
  return 0;
}

}  // namespace trident::bench
