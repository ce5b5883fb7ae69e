#pragma once
/// @file
/// `mixed_load`: the load `trident soak` runs, every part at once, each checking every result it
/// gets and injecting its faults:
///
/// | part | runs | faults it injects |
/// | --- | --- | --- |
/// | coroutines | gathers of short coroutines and a producer/consumer pair on an `aio::queue` | — |
/// | timers | coroutines sleeping 1–20 ms, each wake-up checked not to come early | — |
/// | thread pool | range sums split into nested tasks that wait on their children's futures | — |
/// | process map | a long `process_pool::map`, segment after segment | SIGKILL of a worker, a task that segfaults, a task past its timeout |
/// | IPC | a producer and a relay process passing values through two `proc::queue`s | — |
/// | fetch | `http::fetch_all` against the loopback server's `/faulty` routes | 503s, resets, stalls |
///
/// Lost work is what never completed correctly: a wrong result, an unexpected error, a URL that
/// failed for good, a map segment that failed more often than it may be re-run. A fault that the
/// soak injected is not lost work when it is reported as such (the crashed task's future says
/// SIGSEGV, a timeout says timeout, a killed worker is replaced) and the work it cut short is
/// re-run; such faults count as survived.
///
/// Thread safety: `start`, `stop` and the destructor from one thread; `counts`, `problems` and
/// `check_pool` from any thread while it runs.

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "trident/proc/process_pool.hpp"

namespace trident::cli::soak {

/// The kinds of work whose completions the soak counts.
enum class work : std::size_t { coroutines, timers, thread_pool, map_items, ipc_messages, fetches, count };
/// The kinds of faults it injects.
enum class fault : std::size_t { sigkill, segfault, timeout, http_503, http_reset, http_stall, count };

[[nodiscard]] const char* name_of(work w) noexcept;
[[nodiscard]] const char* name_of(fault f) noexcept;

/// A snapshot of the load's counters.
struct load_counts {
  std::array<std::uint64_t, static_cast<std::size_t>(work::count)> done{};
  std::array<std::uint64_t, static_cast<std::size_t>(fault::count)> injected{};
  std::array<std::uint64_t, static_cast<std::size_t>(fault::count)> survived{};
  std::uint64_t lost = 0;           ///< Work that never completed correctly.
  std::uint64_t map_segments = 0;   ///< Map segments completed and checked.
  std::uint64_t map_reruns = 0;     ///< Map segments run again after a killed worker cut them short.
  std::uint64_t ipc_rounds = 0;     ///< Producer + relay process pairs run to the end.
  std::uint64_t extra_retries = 0;  ///< Fetch attempts beyond the faults planned (slow machine).

  [[nodiscard]] std::uint64_t faults_injected() const noexcept;
  [[nodiscard]] std::uint64_t faults_survived() const noexcept;
};

struct load_options {
  std::size_t workers = 2;  ///< Worker processes of the process pool.
};

class mixed_load {
 public:
  explicit mixed_load(load_options options);
  mixed_load(const mixed_load&) = delete;
  mixed_load& operator=(const mixed_load&) = delete;
  /// Stops the load if it runs (`stop`).
  ~mixed_load();

  /// Starts every part, each on its own thread. Throws if the pool or the server cannot start.
  void start();
  /// Asks every part to finish what it is doing (a map segment, an IPC round, a fetch batch),
  /// joins them, shuts the pool down (its workers are reaped) and stops the server. Idempotent.
  void stop();

  [[nodiscard]] load_counts counts() const;
  /// What went wrong so far: a line each (wrong results, unexpected errors), at most 20 kept.
  [[nodiscard]] std::vector<std::string> problems() const;
  /// The process pool's counters checked against each other and against the faults injected:
  /// submitted = queued + in flight + completed + crashed + cancelled; crashed at least the
  /// segfaults and timeouts survived and at most those plus the workers killed; nothing
  /// cancelled. Empty when consistent (or once stopped), else what is not.
  [[nodiscard]] std::vector<std::string> check_pool() const;
  /// The pool's counters now (zeros once stopped).
  [[nodiscard]] proc::process_pool_statistics pool_statistics() const;

  struct state;

 private:
  std::shared_ptr<state> state_;
};

}  // namespace trident::cli::soak
