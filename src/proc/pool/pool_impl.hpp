#pragma once
// process_pool::impl: the state of the I/O thread that drives every worker of a pool, shared by
// the files that act on it. Private to src/proc/pool/.
//
// One thread per pool owns all worker channels, multiplexed with epoll; user threads only queue
// jobs (under `mutex`) and poke an eventfd, and only while the I/O thread sleeps. That thread's
// work is cut at its seams, one file each (the way tokio's multi-thread scheduler is cut into
// worker, idle, park, queue and handle):
//
//   process_pool.cpp  the handle: the public member functions callers run (submit's enqueue,
//                     shutdown, statistics), and the pool's construction.
//   io_loop.cpp       the loop itself: a round, sleeping and being woken (park), stopping.
//   workers.cpp       worker life cycle: start, hello, frames and results back, exit and reaping.
//   dispatch.cpp      sending: the queue into the task rings, large arguments, the direct path.
//   deadlines.cpp     time: the start deadline, task timeouts, the epoll timeout that serves both.
//
// Those parts read and write the same state (the workers, the queue, the rings) without locks,
// because only the I/O thread runs them; the members below say which are shared with callers.
// What stands alone lives in the other rooms: frames, the channel rings and the arena in
// src/proc/wire/, starting workers and the worker's side in src/proc/start/, and the job in
// include/trident/proc/lowlevel/job.hpp.
//
// Channel (detail/channel_ring.hpp, docs/proc.md): per worker, a memfd with a task ring and a
// result ring, passed on the worker's socket right after the start (`channel` frames) with an
// eventfd that wakes the worker and one (shared by the pool's workers) that wakes this thread.
// Each round writes every task it sends and publishes each ring once; a side wakes the other
// only if that side's sleeping flag is set. Before sleeping, this thread spins for its budget
// while tasks are in flight. The socket stays for memfd payloads (a ring entry marks their
// place), the handshake, and end of file.

#include <sys/epoll.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "trident/proc/detail/channel_ring.hpp"
#include "trident/proc/detail/frame.hpp"
#include "trident/proc/detail/payload_arena.hpp"
#include "trident/proc/detail/pool_job.hpp"
#include "trident/proc/detail/start_process.hpp"
#include "trident/proc/process_pool.hpp"

namespace trident::proc {

struct process_pool::impl {
  using clock = std::chrono::steady_clock;
  enum class stop_kind { none, wait, cancel_pending, terminate };

  struct worker;
  struct watch {
    worker* w;
    bool is_pidfd;
  };
  enum class phase { starting, ready, exited };
  struct worker {
    detail::started_worker proc;
    phase state = phase::starting;
    clock::time_point start_deadline;
    clock::time_point head_started;
    detail::frame_reader reader;
    detail::frame_writer writer;
    std::deque<std::pair<std::uint64_t, std::unique_ptr<detail::pool_job>>> in_flight;
    std::size_t sent = 0;
    bool retiring = false;
    bool socket_open = true;
    bool want_out = false;
    bool write_closed = false;  // the peer is gone for writing; still readable until reaped
    bool killed = false;
    std::exception_ptr failure;  // why we killed it, for its oldest job
    // The shared-memory channel (channel_ring.hpp): tasks out, results in.
    detail::channel_memory channel;
    detail::ring_writer tasks;
    detail::ring_reader results;
    detail::owned_fd wake_fd;                 // wakes the worker when it sleeps
    std::deque<detail::frame> socket_frames;  // memfd frames that came before their ring entry
    bool ring_broken = false;
    bool tasks_full = false;  // in this dispatch round
    bool lent = false;        // lent to callers for the direct path (`lend`): hands off its task ring
    bool has_arena = false;   // the payload arena's memfd is on its way to (or with) the worker
    watch sock_watch{this, false};
    watch pid_watch{this, true};
  };

  explicit impl(process_pool_options o)
      : options(std::move(o)),
        spin_ns(detail::spin_budget_ns(options.workers)),
        arena(wants_arena(options) ? std::make_shared<detail::payload_arena>(options.payload_arena_bytes) : nullptr) {}

  // An arena is mapped whole in every worker: under a tight address-space limit it would take
  // the room the tasks need, so it is left out unless it is at most an eighth of the limit.
  static bool wants_arena(const process_pool_options& o) noexcept {
    if (o.payload_arena_bytes == 0) return false;
    return o.memory_limit_bytes == 0 || o.payload_arena_bytes <= o.memory_limit_bytes / 8;
  }

  process_pool_options options;
  const std::uint64_t spin_ns;  // spin budget of the I/O thread and the workers
  // Large arguments are encoded into it by the callers (its own mutex); null if the options say none.
  const std::shared_ptr<detail::payload_arena> arena;

  // Shared with user threads.
  mutable std::mutex mutex;
  std::deque<std::unique_ptr<detail::pool_job>> incoming;
  stop_kind stop_request = stop_kind::none;
  bool accepting = true;
  std::string broken;  // non-empty: workers cannot start; submits fail with this
  std::condition_variable started_cv;
  bool start_done = false;
  std::string start_error;
  std::atomic<bool> wake_pending{false};
  std::atomic<bool> io_sleeping{false};  // the I/O thread is (about to be) in epoll_wait
  std::vector<int> pids;                 // guarded by mutex

  // The direct path (dispatch.cpp): the I/O thread lends an idle worker's task ring to callers;
  // the first caller that submits one job while nothing is queued writes it into that ring itself
  // and leaves the job here, and the I/O thread takes it in as in flight (`take_back_lent`).
  worker* lent = nullptr;                      // guarded by mutex; cleared by the caller that uses it
  std::uint64_t lent_id = 0;                   // guarded by mutex: the id the job takes
  std::unique_ptr<detail::pool_job> lent_job;  // guarded by mutex
  worker* lent_io = nullptr;                   // I/O thread's view of the loan

  // The task counters. Every task is in exactly one bucket; a change moves it from one bucket to
  // another under `stats_mutex`, so a `statistics()` snapshot always adds up (see its doc).
  struct task_counts {
    std::size_t submitted = 0, queued = 0, in_flight = 0, completed = 0, crashed = 0, cancelled = 0;
  };
  mutable std::mutex stats_mutex;
  task_counts counts;  // guarded by stats_mutex
  std::atomic<std::size_t> started{0};

  int epoll = -1;
  int wake_fd = -1;
  int results_fd = -1;  // workers write it when they publish results while the I/O thread sleeps
  std::thread io;
  std::mutex join_mutex;  // shutdown/terminate may be called from several threads at once

  // I/O thread only.
  std::vector<std::unique_ptr<worker>> workers;
  std::deque<std::unique_ptr<detail::pool_job>> ready;
  stop_kind stop = stop_kind::none;
  bool initial_start = true;
  std::uint64_t next_id = 1;
  watch wake_watch{nullptr, false};
  watch results_watch{nullptr, false};
  bool worker_flags_set = false;  // the I/O thread's sleeping flag is set in the workers' channels
  // Room a task leaves in a task ring for control frames (retire, trace_on).
  static constexpr std::size_t control_reserve = 2 * detail::frame_header_size;
  watch sigchld_watch{nullptr, false};
  bool watching_sigchld = false;
  bool reap_check_pending = false;
  static constexpr std::chrono::milliseconds fallback_reap_interval{200};

  // ---- io_loop.cpp: the loop, sleeping and waking, stopping ----
  void run();
  void move_tasks(std::size_t task_counts::*from, std::size_t task_counts::*to, std::size_t n = 1);
  void join_io();
  void wake();
  void watch_fd(int fd, std::uint32_t events, watch* w, int op = EPOLL_CTL_ADD) const;
  int prepare_sleep(int timeout, bool busy);
  void end_sleep();
  void start_failed(const std::string& message);
  template <class Error>
  void fail_all_queued(const std::string& message);
  void take_incoming();
  void begin_stop(stop_kind kind);
  void request_stop(stop_kind kind);

  // ---- workers.cpp: worker life cycle ----
  void start_one();
  void ask_to_trace(worker& w);
  void watch_sigchld();
  void reap_workers_without_pidfd();
  void publish_pids();
  void close_socket(worker& w);
  void kill_worker(worker& w, std::exception_ptr why);
  void on_readable(worker& w);
  void drain_results(worker& w, bool force = false);
  bool results_waiting() const;
  void on_frame(worker& w, detail::frame& f);
  void on_exit(worker& w);
  void on_exited(worker& w, const std::string& how, int signal, int code);

  // ---- dispatch.cpp: sending, the direct path included ----
  bool try_direct(std::unique_ptr<detail::pool_job>& job);
  void take_back_lent();
  void lend();
  void dispatch();
  bool send(worker& w, std::unique_ptr<detail::pool_job>& job);
  void add_control(worker& w, detail::frame_kind kind, std::uint64_t id);
  void publish_tasks();
  void flush(worker& w);

  // ---- deadlines.cpp: time ----
  std::chrono::nanoseconds timeout_of(const detail::pool_job& job) const;
  clock::time_point head_start(const worker& w) const;
  int next_timeout_ms() const;
  void check_deadlines();
};

}  // namespace trident::proc
