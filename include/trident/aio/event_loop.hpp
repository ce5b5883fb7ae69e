#pragma once
/// @file
/// `aio::event_loop`: one thread running many coroutines, switching whenever one waits
/// (Python's asyncio event loop). The runners that drive it — `aio::run`, the counterpart of
/// `asyncio.run`, and `aio::run_until_complete` — are in run.hpp, above the tasks they spawn.

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <stdexcept>
#include <utility>

#include "trident/aio/lowlevel/io_handle.hpp"
#include "trident/aio/lowlevel/timer_node.hpp"
#include "trident/aio/task.hpp"

namespace trident::aio {

namespace detail {
class spawned_base;
}  // namespace detail

namespace lowlevel {

/// The part of a loop that other threads may hold on to: posting to it stays safe after the
/// loop is gone (the callback is then dropped). Thread safe.
class remote_endpoint;

/// Queues `fn` on the endpoint's loop, or drops it if that loop has ended. Thread safe.
void post(remote_endpoint& endpoint, std::function<void()> fn);

}  // namespace lowlevel

/// A snapshot of a loop's counters.
struct loop_statistics {
  std::size_t ready = 0;    ///< Coroutines waiting for their turn to run.
  std::size_t timers = 0;   ///< Armed timers (sleeping coroutines, timeouts).
  std::size_t tasks = 0;    ///< Spawned tasks not finished.
  std::uint64_t steps = 0;  ///< Coroutine resumptions run so far.
  /// Longest single resumption seen, in debug mode (zero otherwise): how long the loop was
  /// blocked at worst.
  std::chrono::nanoseconds longest_step{0};
};

/// How a loop waits for I/O (see docs/aio.md, "Backends").
enum class loop_backend {
  /// epoll, unless the environment variable TRIDENT_LOOP_BACKEND (`epoll` or `uring`) names one.
  automatic,
  epoll,     ///< epoll_wait, edge-triggered: the default, and the faster on the echo benchmark.
  io_uring,  ///< io_uring: multishot poll requests, one io_uring_enter per step. Only when asked for.
};

/// "automatic", "epoll" or "io_uring".
[[nodiscard]] const char* to_string(loop_backend backend) noexcept;

/// How a loop is set up.
struct loop_options {
  /// Which backend waits for I/O. `automatic` follows TRIDENT_LOOP_BACKEND when it is set (an
  /// unknown value makes the constructor throw std::invalid_argument), else takes epoll. Asking
  /// for io_uring (here or through the variable) where it cannot run (a kernel or sandbox that
  /// refuses it, a build without liburing) makes the constructor throw std::system_error.
  loop_backend backend = loop_backend::automatic;
  /// Virtual time, for tests (trio's autojump clock): `now()` stands still while anything can
  /// run, and when nothing can, the loop jumps to the earliest timer at once instead of waiting
  /// for it. A test of timeouts and orderings then runs in microseconds and means the same on a
  /// loaded machine. Sockets and callbacks posted from threads are still polled, but a pending
  /// timer never waits for them: use it where the waits that matter are timers.
  bool virtual_time = false;
};

/// A reactor (epoll or io_uring, see `loop_backend`) with timers (a heap, and a first-in
/// first-out run for timers armed in deadline order), a ready queue, and a cross-thread wake-up.
///
/// @par Thread safety
/// A loop is driven by one thread, the one inside a runner (`aio::run_until_complete`). Only `post` (and
/// `call_soon_threadsafe`) and `stop` may be called from other threads; everything else is for
/// the loop thread, from coroutines and callbacks it runs. One loop per thread: running a loop
/// on a thread where one is already running throws `std::logic_error`.
///
/// @par Shutdown
/// 1. `run_until_complete(main)` returns when `main` finishes (or rethrows its exception).
/// 2. Spawned tasks still alive are cancelled, and the loop runs until they have finished, so
///    their cleanup (destructors, catch blocks) runs — as `asyncio.run` does.
/// 3. The destructor destroys whatever never ran.
class event_loop {
 public:
  /// Throws std::invalid_argument for an unknown TRIDENT_LOOP_BACKEND, std::system_error if
  /// the backend asked for cannot run or the system refuses a resource.
  explicit event_loop(loop_options options = {});
  event_loop(const event_loop&) = delete;
  event_loop& operator=(const event_loop&) = delete;
  ~event_loop();

  /// The loop running on the calling thread, or nullptr.
  [[nodiscard]] static event_loop* current() noexcept;

  /// The loop running on the calling thread; throws std::logic_error when there is none.
  [[nodiscard]] static event_loop& running();

  /// Schedules `fn` to run on the loop thread. Thread safe; the counterpart of
  /// `loop.call_soon_threadsafe`. Callbacks posted after the loop finished are dropped.
  void post(std::function<void()> fn);
  void call_soon_threadsafe(std::function<void()> fn) { post(std::move(fn)); }

  /// Asks a running loop to return from its runner early, cancelling the main task. Thread
  /// safe.
  void stop();

  /// The loop's time: the steady clock, or the virtual time (see `loop_options`). Deadlines of
  /// sleeps and timeouts are measured on it.
  [[nodiscard]] clock::time_point now() const noexcept;

  /// A handle through which other threads can post to this loop even after it is destroyed
  /// (posts then are dropped): what work handed to other threads keeps to report back.
  [[nodiscard]] std::shared_ptr<lowlevel::remote_endpoint> endpoint() const noexcept;

  [[nodiscard]] loop_statistics statistics() const noexcept;

  /// The backend this loop waits with: `epoll` or `io_uring`, never `automatic`.
  [[nodiscard]] loop_backend backend() const noexcept;

  /// Debug mode (asyncio's debug mode): every resumption is timed, and one that keeps the loop
  /// busy longer than `slow_step` is reported on stderr with the task's name — the sign of a
  /// blocking call inside a coroutine. Off by default; also switched on by the environment
  /// variable TRIDENT_AIO_DEBUG=1. Costs two clock reads per resumption while on.
  void set_debug(bool enabled, std::chrono::milliseconds slow_step = std::chrono::milliseconds(100)) noexcept;
  [[nodiscard]] bool debug() const noexcept;

  // -- For Trident's awaitables (loop thread only) ------------------------------------------

  /// Queues `h` to be resumed on a later step of this loop. `context`, when known, names the
  /// task in debug reports.
  void schedule(std::coroutine_handle<> h, const lowlevel::task_context* context = nullptr);
  /// Arms `t` (which must not be armed): O(1) when its deadline is no earlier than the last one
  /// armed in order (the common case: one duration for every sleep or timeout), else O(log n).
  void arm(lowlevel::timer_node& t);
  /// Disarms `t` if armed; returns whether it was.
  bool disarm(lowlevel::timer_node& t) noexcept;

  /// Registers `h.fd` for readiness events (edge-triggered). Throws std::system_error.
  void add_io(lowlevel::io_handle& h);
  /// Unregisters `h.fd`; waiting coroutines are not resumed. Call before closing the fd.
  void remove_io(lowlevel::io_handle& h) noexcept;

  void register_task(detail::spawned_base& s) noexcept;
  void unregister_task(detail::spawned_base& s) noexcept;

  // -- For runners (run.hpp) ---------------------------------------------------------------------

  /// Makes this the calling thread's loop and runs steps until `finished()` holds (checked
  /// between steps) or `stop` is called. Throws std::logic_error if a loop already runs on this
  /// thread (loops do not nest: await the task instead), std::system_error if waiting fails.
  void run_until(const std::function<bool()>& finished);
  /// Cancels every task still alive and runs until they have finished, so their cleanup runs
  /// (step 2 of Shutdown). Clears a pending `stop`.
  void wind_down();

 private:
  struct impl;
  void run_steps(const std::function<bool()>& finished);
  std::unique_ptr<impl> impl_;
};

}  // namespace trident::aio
