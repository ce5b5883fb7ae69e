// process_pool: the I/O thread that drives every worker of a pool.
//
// One job, hence one file over 700 lines: `impl` is the state machine of that one thread. Worker
// life cycle, dispatch (the direct path included) and deadlines read and write the same state
// (the workers, the queue, the rings) without locks because only this thread runs them; they
// are sections of `impl` below, not separable objects. What could stand alone already does: the
// channel rings (channel_ring.cpp), frames (frame.cpp), the arena (payload_arena.cpp), spawning
// (spawn.cpp, fork_server.cpp) and the job (proc/lowlevel/job.hpp).
//
// One thread per pool owns all worker channels, multiplexed with epoll; user threads only queue
// jobs (under `mutex`) and poke an eventfd, and only while the I/O thread sleeps.
//
// Channel (detail/channel_ring.hpp, docs/proc.md): per worker, a memfd with a task ring and a
// result ring, passed on the worker's socket right after the spawn (`channel` frames) with an
// eventfd that wakes the worker and one (shared by the pool's workers) that wakes this thread.
// Each round writes every task it sends and publishes each ring once; a side wakes the other
// only if that side's sleeping flag is set. Before sleeping, this thread spins for its budget
// while tasks are in flight. The socket stays for memfd payloads (a ring entry marks their
// place), the handshake, and end of file.
//
// Large arguments (detail/payload_arena.hpp): a caller encodes them straight into the pool's
// payload arena; before a worker's first such task this thread sends it the arena's memfd (a
// `channel` frame, id 3, its ring entry marking its place), and the task's ring entry names the
// payload's place in the arena. The job keeps its slot until it is destroyed, so a job resent
// after a crash still finds its bytes there.
//
// Direct path: at the end of a round with nothing queued, an idle worker is lent to callers
// (`lend`); the first lone `submit` writes its job into that worker's ring itself and leaves the
// job in `lent_job`; this thread takes it in as in flight (`take_back_lent`) when the result
// appears, when it next takes the mutex, or when the worker dies.
//
// The I/O thread is also the thread that spawns the workers, so that PR_SET_PDEATHSIG (which
// follows the spawning *thread*) lasts as long as the pool does.
//
// Worker life cycle:
//   1. spawn (posix_spawn of /proc/self/exe in worker mode) -> `starting`, with a deadline.
//   2. `hello` frame -> `ready`. The pool constructor returns once every first worker is ready.
//   3. Jobs are pipelined: a worker may hold several in flight (more when the queue is long), and
//      runs them in order, recording in the shared header the id of the one it runs (and since
//      when) before it starts it. Its timeout counts from that start (from when it became the
//      oldest, until the worker records it).
//   4. Results come back in order; each completes its job's promise on this thread.
//   5. The worker's pidfd becomes readable when it exits; it is reaped at once (no zombies).
//      Where pidfd_open is unavailable (old kernels, seccomp, valgrind), a SIGCHLD handler pokes
//      an eventfd in the epoll set instead and each such worker is polled with
//      waitpid(pid, WNOHANG): only our own PIDs, so other children's statuses stay the program's.
//      Its result ring and socket are drained first (results finished before the death count).
//      If jobs are still in flight, the one the worker recorded as running fails
//      (worker_crashed_error naming the signal, or task_timeout_error if we killed it for its
//      timeout); the others go back to the front of the queue. A replacement starts unless the
//      pool is stopping.
//   6. max_tasks_per_child: after sending that many jobs the pool sends `retire`; the worker
//      exits after them and is replaced.
//
// Shutdown:
//   graceful: stop accepting; when queue and in-flight lists are empty, send `retire` to every
//             worker; reap them all; the thread exits.
//   cancel_pending: as graceful, but queued jobs are cancelled first.
//   terminate: SIGKILL every worker; queued and in-flight jobs fail with cancelled_error.

#include "trident/proc/process_pool.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <ostream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

#include "trident/proc/detail/channel_ring.hpp"
#include "trident/proc/detail/spawn.hpp"
#include "trident/trace/process_spans.hpp"
#include "trident/trace/recorder.hpp"

namespace trident::proc {

namespace {

using clock = std::chrono::steady_clock;

enum class stop_kind { none, wait, cancel_pending, terminate };

std::exception_ptr remote_from(std::string_view payload) {
  try {
    auto [type, message] = decode<std::pair<std::string, std::string>>(payload);
    return std::make_exception_ptr(remote_error(std::move(type), message));
  } catch (...) {
    return std::current_exception();
  }
}

}  // namespace

std::size_t process_pool_options::default_worker_count() noexcept {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

struct process_pool::impl {
  struct worker;
  struct watch {
    worker* w;
    bool is_pidfd;
  };
  enum class phase { starting, ready, exited };
  struct worker {
    detail::spawned_worker proc;
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
    detail::owned_fd wake_fd;  // wakes the worker when it sleeps
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
  std::vector<int> pids;  // guarded by mutex

  // The direct path: the I/O thread lends an idle worker's task ring to callers; the first
  // caller that submits one job while nothing is queued writes it into that ring itself and
  // leaves the job here, and the I/O thread takes it in as in flight (`take_back_lent`).
  worker* lent = nullptr;                       // guarded by mutex; cleared by the caller that uses it
  std::uint64_t lent_id = 0;                    // guarded by mutex: the id the job takes
  std::unique_ptr<detail::pool_job> lent_job;   // guarded by mutex

  // The task counters. Every task is in exactly one bucket; a change moves it from one bucket to
  // another under `stats_mutex`, so a `statistics()` snapshot always adds up (see its doc).
  struct task_counts {
    std::size_t submitted = 0, queued = 0, in_flight = 0, completed = 0, crashed = 0, cancelled = 0;
  };
  mutable std::mutex stats_mutex;
  task_counts counts;  // guarded by stats_mutex
  std::atomic<std::size_t> started{0};

  void move_tasks(std::size_t task_counts::*from, std::size_t task_counts::*to, std::size_t n = 1) {
    if (n == 0) return;
    std::lock_guard lock(stats_mutex);
    if (counts.*from < n) {
      std::fprintf(stderr, "trident: process pool task counters out of step\n");
      std::abort();
    }
    counts.*from -= n;
    counts.*to += n;
  }

  int epoll = -1;
  int wake_fd = -1;
  int results_fd = -1;  // workers write it when they publish results while the I/O thread sleeps
  std::thread io;
  std::mutex join_mutex;  // shutdown/terminate may be called from several threads at once

  void join_io() {
    std::lock_guard lock(join_mutex);
    if (!io.joinable()) return;
    if (io.get_id() == std::this_thread::get_id()) {
      throw std::logic_error("process_pool: shutdown from its own I/O thread (a continuation)");
    }
    io.join();
  }

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

  // Callers: a system call only while the I/O thread sleeps (or is about to); the fences pair
  // with those in `prepare_sleep`.
  void wake() {
    if (!wake_pending.exchange(true, std::memory_order_seq_cst)) {
      std::atomic_thread_fence(std::memory_order_seq_cst);
      if (!io_sleeping.load(std::memory_order_relaxed)) return;
      const std::uint64_t one = 1;
      ssize_t r;
      do {
        r = ::write(wake_fd, &one, sizeof one);
      } while (r < 0 && errno == EINTR);
    }
  }

  // ---- the direct path ----

  // Caller, `mutex` held, nothing queued: puts `job` straight into the lent worker's task ring.
  // Returns false, keeping the job, where it must take the ordinary way (its payload is a
  // memfd, it has a timeout, the ring is full).
  bool try_direct(std::unique_ptr<detail::pool_job>& job) {
    if (lent == nullptr || job->payload_fd >= 0 || job->arena || job->timeout.count() > 0) return false;
    worker& w = *lent;
    if (!job->claim()) return false;  // cancelled already: the I/O thread counts it
    job->claimed = true;
    if (!w.tasks.try_add(detail::frame_kind_of(job->kind), lent_id, job->payload, false, control_reserve)) return false;
    w.tasks.publish();
    detail::wake_if_sleeping(w.channel.control().worker_sleeping, w.wake_fd.get());
    lent_job = std::move(job);
    lent = nullptr;
    return true;
  }

  // I/O thread, `mutex` held: ends the loan, taking in the job a caller gave the worker.
  worker* lent_io = nullptr;  // I/O thread's view of the loan
  void take_back_lent() {
    if (lent_io == nullptr) return;
    worker& w = *lent_io;
    lent_io = nullptr;
    w.lent = false;
    lent = nullptr;
    if (lent_job) {
      if (w.in_flight.empty()) w.head_started = clock::now();
      w.in_flight.emplace_back(lent_id, std::move(lent_job));
    }
  }

  // I/O thread, at the end of a round with nothing queued: lends an idle worker. Not with
  // timeouts (a job the I/O thread does not know of yet would have no deadline) nor
  // max_tasks_per_child (it counts jobs as it sends them).
  void lend() {
    if (lent_io != nullptr || stop != stop_kind::none || !ready.empty()) return;
    if (options.task_timeout.count() > 0 || options.max_tasks_per_child != 0) return;
    for (auto& w : workers) {
      if (w->state != phase::ready || w->retiring || w->killed || !w->socket_open || w->write_closed ||
          w->ring_broken || !w->in_flight.empty()) {
        continue;
      }
      std::lock_guard lock(mutex);
      if (!incoming.empty() || !accepting) return;
      lent = w.get();
      lent_id = next_id++;
      lent_io = w.get();
      w->lent = true;
      return;
    }
  }

  // ---- epoll plumbing ----
  void watch_fd(int fd, std::uint32_t events, watch* w, int op = EPOLL_CTL_ADD) const {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = w;
    if (::epoll_ctl(epoll, op, fd, &ev) != 0) throw std::system_error(errno, std::generic_category(), "epoll_ctl");
  }

  void spawn_one() {
    auto w = std::make_unique<worker>();
    // The channel first: nothing to clean up if it cannot be made.
    int channel_fd = -1;
    w->channel = detail::channel_memory::create(channel_fd);
    w->channel.control().worker_spin_ns.store(spin_ns, std::memory_order_relaxed);
    w->writer.add_fd(detail::frame_kind::channel, 0, channel_fd, detail::channel_size);
    w->tasks = w->channel.task_writer();
    w->results = w->channel.result_reader();
    w->wake_fd = detail::owned_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (w->wake_fd.get() < 0) throw std::system_error(errno, std::generic_category(), "eventfd for a worker");
    w->writer.add_shared_fd(detail::frame_kind::channel, 1, w->wake_fd.get(), 0);
    w->writer.add_shared_fd(detail::frame_kind::channel, 2, results_fd, 0);
    w->proc = detail::spawn_worker("pool", options.memory_limit_bytes, {}, options.withheld_environment,
                                   options.start_timeout);
    started.fetch_add(1, std::memory_order_relaxed);
    ::fcntl(w->proc.socket, F_SETFL, ::fcntl(w->proc.socket, F_GETFL) | O_NONBLOCK);
    w->start_deadline = clock::now() + options.start_timeout;
    watch_fd(w->proc.socket, EPOLLIN | EPOLLRDHUP, &w->sock_watch);
    if (w->proc.pidfd >= 0) {
      watch_fd(w->proc.pidfd, EPOLLIN, &w->pid_watch);
    } else {
      watch_sigchld();
      reap_check_pending = true;  // it may have died before the handler was in place
    }
    ask_to_trace(*w);
    flush(*w);  // the channel: the worker reads it right after its hello
    workers.push_back(std::move(w));
    publish_pids();
  }

  /// While this process traces, a new worker records a span per task and sends its spans back
  /// (`trace_spans` frames, merged into this process's export); otherwise it records nothing.
  void ask_to_trace(worker& w) {
    if (trace::enabled()) add_control(w, detail::frame_kind::trace_on, started.load(std::memory_order_relaxed));
  }

  // The no-pidfd fallback: every SIGCHLD of the program wakes this loop.
  void watch_sigchld() {
    if (watching_sigchld) return;
    watch_fd(detail::sigchld_event_fd(), EPOLLIN | EPOLLET, &sigchld_watch);
    watching_sigchld = true;
  }

  // Reaps the workers without a pidfd that have exited; leaves every other child alone.
  void reap_workers_without_pidfd() {
    reap_check_pending = false;
    for (auto& w : workers) {
      if (w->proc.pidfd >= 0 || w->state == phase::exited) continue;
      int signal = 0;
      int code = -1;
      auto how = detail::try_reap(w->proc.pid, signal, code);
      if (!how) continue;
      if (w->socket_open) on_readable(*w);  // results sent just before the exit still count
      on_exited(*w, *how, signal, code);
    }
  }

  void publish_pids() {
    std::vector<int> now;
    for (auto& w : workers) {
      if (w->state != phase::exited) now.push_back(w->proc.pid);
    }
    std::lock_guard lock(mutex);
    pids = std::move(now);
  }

  void close_socket(worker& w) {
    if (!w.socket_open) return;
    ::epoll_ctl(epoll, EPOLL_CTL_DEL, w.proc.socket, nullptr);
    ::close(w.proc.socket);
    w.socket_open = false;
  }

  void kill_worker(worker& w, std::exception_ptr why) {
    if (w.killed) return;
    w.killed = true;
    if (!w.failure) w.failure = std::move(why);
    ::kill(w.proc.pid, SIGKILL);
  }

  // ---- frames from a worker ----
  void on_readable(worker& w) {
    for (;;) {
      long n;
      try {
        n = detail::read_into(w.proc.socket, w.reader);
      } catch (const std::exception&) {
        kill_worker(w, std::current_exception());
        close_socket(w);
        return;
      }
      if (n < 0) return;
      if (n == 0) {
        close_socket(w);  // the worker is exiting; its pidfd tells how
        return;
      }
      try {
        while (auto f = w.reader.next()) {
          if (f->kind == detail::frame_kind::hello) {
            on_frame(w, *f);
          } else if (f->mapping) {
            w.socket_frames.push_back(std::move(*f));  // delivered when the ring reaches its entry
          } else {
            throw protocol_error("worker channel: an inline frame on the socket while the rings are in use");
          }
        }
      } catch (const std::exception&) {
        kill_worker(w, std::current_exception());
        close_socket(w);
        return;
      }
    }
  }

  // Delivers what the worker published in its result ring. `force`: even while the test hook
  // holds results (a worker that exited is drained before its death is charged).
  void drain_results(worker& w, bool force = false) {
    if (!w.channel.mapped() || w.ring_broken || w.state != phase::ready) return;
    if (!force && detail::hold_results_for_testing.load(std::memory_order_relaxed)) return;
    // A result of the lent worker: its job came by the direct path (the ring is read first, so
    // the caller's hand-over is visible once we lock).
    if (w.lent && (force || !w.results.empty())) {
      std::lock_guard lock(mutex);
      take_back_lent();
    }
    try {
      while (auto f = w.results.next()) {
        if (!f->on_socket) {
          on_frame(w, *f);
          continue;
        }
        // The worker sent the memfd frame before it published this entry: it is in our socket.
        if (w.socket_frames.empty() && w.socket_open) on_readable(w);
        if (w.socket_frames.empty()) throw protocol_error("worker channel: a ring entry's memfd frame is missing");
        detail::frame from_socket = std::move(w.socket_frames.front());
        w.socket_frames.pop_front();
        if (from_socket.kind != f->kind || from_socket.id != f->id) {
          throw protocol_error("worker channel: socket frame out of step with the ring");
        }
        on_frame(w, from_socket);
      }
      w.results.release();
    } catch (const std::exception&) {
      // Bytes that are not a frame, or a frame out of place: the worker is broken; it is killed
      // and its running task fails with the reason.
      w.ring_broken = true;
      kill_worker(w, std::current_exception());
    }
  }

  bool results_waiting() const {
    if (detail::hold_results_for_testing.load(std::memory_order_relaxed)) return false;
    return std::any_of(workers.begin(), workers.end(), [](auto& w) {
      return w->state == phase::ready && !w->ring_broken && !w->results.empty();
    });
  }

  void add_control(worker& w, detail::frame_kind kind, std::uint64_t id) {
    // Tasks leave `control_reserve` bytes free, so this fits.
    if (!w.tasks.try_add(kind, id, {})) {
      kill_worker(w, std::make_exception_ptr(protocol_error("worker channel: task ring full for a control frame")));
    }
  }

  // Publishes the tasks added to each worker's ring, waking those that sleep.
  void publish_tasks() {
    for (auto& w : workers) {
      if (w->state == phase::exited || !w->channel.mapped()) continue;
      if (w->tasks.publish()) detail::wake_if_sleeping(w->channel.control().worker_sleeping, w->wake_fd.get());
    }
  }

  // Before epoll_wait with `timeout` (not 0): spins for results while tasks are in flight or
  // results just came, then says it sleeps. Returns the timeout to use (0: something came).
  int prepare_sleep(int timeout, bool busy) {
    if (busy && spin_ns != 0) {
      const std::uint64_t until = detail::steady_ns() + spin_ns;
      for (unsigned i = 1;; ++i) {
        if (wake_pending.load(std::memory_order_relaxed) || results_waiting()) return 0;
        detail::cpu_relax();
        if (i % 32 == 0 && detail::steady_ns() >= until) break;
      }
    }
    io_sleeping.store(true, std::memory_order_relaxed);
    for (auto& w : workers) {
      if (w->state != phase::exited && w->channel.mapped()) {
        w->channel.control().pool_sleeping.store(1, std::memory_order_relaxed);
      }
    }
    worker_flags_set = true;
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (wake_pending.load(std::memory_order_relaxed) || results_waiting()) return 0;
    return timeout;
  }

  void end_sleep() {
    io_sleeping.store(false, std::memory_order_relaxed);
    if (!worker_flags_set) return;
    worker_flags_set = false;
    for (auto& w : workers) {
      if (w->state != phase::exited && w->channel.mapped()) {
        w->channel.control().pool_sleeping.store(0, std::memory_order_relaxed);
      }
    }
  }

  void on_frame(worker& w, detail::frame& f) {
    switch (f.kind) {
      case detail::frame_kind::hello:
        if (w.state != phase::starting) throw protocol_error("worker channel: unexpected hello");
        w.state = phase::ready;
        return;
      case detail::frame_kind::result:
      case detail::frame_kind::error: {
        if (w.in_flight.empty() || w.in_flight.front().first != f.id) {
          throw protocol_error("worker channel: result for a task the worker was not running");
        }
        auto job = std::move(w.in_flight.front().second);
        w.in_flight.pop_front();
        if (!w.in_flight.empty()) w.head_started = clock::now();
        // Counted before the future completes: whoever has the result sees it counted.
        move_tasks(&task_counts::in_flight, &task_counts::completed);
        if (f.kind == detail::frame_kind::result) {
          job->complete(f.payload);
        } else {
          job->fail(remote_from(f.payload));
        }
        return;
      }
      case detail::frame_kind::trace_spans:
        try {
          trace::import_spans(f.payload);
        } catch (const std::invalid_argument& e) {  // counts are checked against the bytes
          throw protocol_error(std::string("worker channel: a trace_spans frame that is not a span pack: ") + e.what());
        }
        return;
      default:
        throw protocol_error("worker channel: a worker sent a frame only the parent may send");
    }
  }

  // ---- a worker exited ----
  void on_exit(worker& w) {
    if (w.state == phase::exited) return;
    int signal = 0;
    int code = -1;
    const std::string how = detail::reap(w.proc.pid, signal, code);
    ::epoll_ctl(epoll, EPOLL_CTL_DEL, w.proc.pidfd, nullptr);
    ::close(w.proc.pidfd);
    on_exited(w, how, signal, code);
  }

  // The worker has been reaped; `how` says how it ended.
  void on_exited(worker& w, const std::string& how, int signal, int code) {
    if (w.lent) {  // a job a caller gave it by the direct path is in flight like any other
      std::lock_guard lock(mutex);
      take_back_lent();
    }
    // Everything it finished before it died counts: the socket's memfd frames, then the ring.
    if (w.socket_open) on_readable(w);
    drain_results(w, true);
    close_socket(w);
    const bool was_starting = w.state == phase::starting;
    w.state = phase::exited;
    if (was_starting && stop == stop_kind::none) {
      std::string message = "worker process " + std::to_string(w.proc.pid) + " " + how + " before its handshake";
      if (w.failure) {
        try {
          std::rethrow_exception(w.failure);
        } catch (const std::exception& e) {
          message = e.what();
        }
      } else {
        message += "; " + detail::missing_guard_hint();
      }
      start_failed(message);
      return;
    }
    // The worker records the task it runs before starting it: if that is an earlier task than
    // the oldest job left, the worker died between two tasks and none of them ran. One that
    // never recorded a task (it died setting up its channel) is charged its oldest job, so that
    // a worker that cannot start its channel fails tasks rather than being replaced forever.
    const std::uint64_t running =
        w.channel.mapped() ? w.channel.control().running_task.load(std::memory_order_acquire) : 0;
    const bool head_ran =
        w.failure || running == 0 || (!w.in_flight.empty() && running == w.in_flight.front().first);
    if (!w.in_flight.empty() && head_ran) {
      auto& head = w.in_flight.front().second;
      std::exception_ptr error = w.failure;
      if (stop == stop_kind::terminate) {
        error = std::make_exception_ptr(cancelled_error("process pool was terminated"));
      } else if (!error) {
        error = std::make_exception_ptr(worker_crashed_error(
            "worker process " + std::to_string(w.proc.pid) + " " + how + " while running task '" +
                std::string(head->task_name) + "'", w.proc.pid,
            signal, code));
      }
      // Counted before the waiter can see the failure.
      move_tasks(&task_counts::in_flight,
                 stop == stop_kind::terminate ? &task_counts::cancelled : &task_counts::crashed);
      head->fail(error);
      w.in_flight.pop_front();
    }
    if (!w.in_flight.empty()) {
      // The rest never started: back to the front of the queue, in their order (and back in
      // the queued count: leaving them out of it is what made `queued` wrap below zero once
      // they were sent again).
      // Under shutdown(cancel_pending) they are cancelled like the rest of the queue (requeued,
      // they used to fail with shutdown_error once the last worker was gone).
      for (auto it = w.in_flight.rbegin(); it != w.in_flight.rend(); ++it) {
        if (stop == stop_kind::terminate || stop == stop_kind::cancel_pending) {
          move_tasks(&task_counts::in_flight, &task_counts::cancelled);
          it->second->cancel(stop == stop_kind::terminate ? "process pool was terminated"
                                                           : "process pool was shut down before the task started");
        } else {
          move_tasks(&task_counts::in_flight, &task_counts::queued);
          ready.push_front(std::move(it->second));
        }
      }
      w.in_flight.clear();
    }
  }

  void start_failed(const std::string& message) {
    if (initial_start) {
      std::lock_guard lock(mutex);
      start_error = message;
      start_done = true;
      started_cv.notify_all();
    }
    {
      std::lock_guard lock(mutex);
      broken = message;
      accepting = false;
    }
    stop = stop_kind::terminate;
    for (auto& w : workers) kill_worker(*w, nullptr);
    fail_all_queued<worker_start_error>(message);
  }

  // Each job gets an exception object of its own, and this thread keeps no reference to it: an
  // exception_ptr shared with the waiter and released here races in ThreadSanitizer's eyes (its
  // reference count is inside uninstrumented libstdc++; see tests/tsan.supp).
  template <class Error>
  void fail_all_queued(const std::string& message) {
    take_incoming();
    move_tasks(&task_counts::queued, &task_counts::cancelled, ready.size());
    for (auto& job : ready) job->fail(std::make_exception_ptr(Error(message)));
    ready.clear();
  }

  void take_incoming() {
    wake_pending.store(false, std::memory_order_release);
    std::deque<std::unique_ptr<detail::pool_job>> batch;
    stop_kind requested;
    {
      std::lock_guard lock(mutex);
      take_back_lent();
      batch.swap(incoming);
      requested = stop_request;
    }
    if (ready.empty()) {
      ready.swap(batch);
    } else {
      for (auto& j : batch) ready.push_back(std::move(j));
    }
    if (requested != stop_kind::none && stop == stop_kind::none) begin_stop(requested);
  }

  void begin_stop(stop_kind kind) {
    stop = kind;
    if (kind == stop_kind::cancel_pending || kind == stop_kind::terminate) {
      move_tasks(&task_counts::queued, &task_counts::cancelled, ready.size());
      for (auto& job : ready) job->cancel("process pool was shut down before the task started");
      ready.clear();
    }
    if (kind == stop_kind::terminate) {
      for (auto& w : workers) kill_worker(*w, std::make_exception_ptr(cancelled_error("process pool was terminated")));
    }
  }

  // ---- sending ----
  void dispatch() {
    if (ready.empty()) return;
    std::size_t live = 0;
    for (auto& w : workers) live += w->state == phase::ready && !w->retiring && !w->killed && !w->write_closed;
    if (live == 0) return;
    // Deeper pipelines when the queue is long (throughput), one task each when it is short
    // (balance between workers when tasks are uneven).
    const std::size_t depth = std::min<std::size_t>(64, 1 + ready.size() / (4 * live));
    for (auto& w : workers) w->tasks_full = false;
    while (!ready.empty()) {
      worker* best = nullptr;
      for (auto& w : workers) {
        if (w->state != phase::ready || w->retiring || w->killed || !w->socket_open || w->write_closed) continue;
        if (w->tasks_full) continue;
        if (w->in_flight.size() >= depth) continue;
        if (best == nullptr || w->in_flight.size() < best->in_flight.size()) best = w.get();
      }
      if (best == nullptr) return;
      auto job = std::move(ready.front());
      ready.pop_front();
      if (!job->claimed) {
        if (!job->claim()) {  // cancelled while queued
          move_tasks(&task_counts::queued, &task_counts::cancelled);
          continue;
        }
        job->claimed = true;
      }
      if (!send(*best, job)) {
        best->tasks_full = true;  // its ring has no room now: the job waits for the next round
        ready.push_front(std::move(job));
      }
    }
  }

  // Adds `job` to the worker's task ring (published later, with the rest of the round); a large
  // payload goes on the socket as a memfd, its ring entry marking its place. Returns false,
  // keeping the job, if the ring has no room.
  bool send(worker& w, std::unique_ptr<detail::pool_job>& job) {
    const std::uint64_t id = next_id;
    const detail::frame_kind kind = detail::frame_kind_of(job->kind);
    if (job->payload_fd >= 0) {
      // Copies of the payload's descriptor and its attachments: the job keeps its own for a
      // resend after a crash.
      std::vector<int> copies;
      copies.reserve(1 + job->attachment_fds.size());
      auto close_copies = [&copies] {
        for (int fd : copies) ::close(fd);
      };
      copies.push_back(::fcntl(job->payload_fd, F_DUPFD_CLOEXEC, 0));
      for (int fd : job->attachment_fds) {
        if (copies.back() < 0) break;
        copies.push_back(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
      }
      if (copies.back() < 0) {
        const int e = errno;
        copies.pop_back();
        close_copies();
        move_tasks(&task_counts::queued, &task_counts::completed);  // finished, with this exception
        job->fail(std::make_exception_ptr(std::system_error(e, std::generic_category(), "dup of a payload memfd")));
        job.reset();
        return true;
      }
      if (!w.tasks.try_add(kind, id, {}, true, control_reserve)) {
        close_copies();
        return false;
      }
      const int payload = copies.front();
      copies.erase(copies.begin());
      w.writer.add_fd(kind, id, payload, job->payload_size, std::move(copies));
    } else if (job->arena) {
      if (!w.has_arena) {
        // The arena's memfd first, once per worker; it stays mapped there.
        detail::owned_fd copy(::fcntl(job->arena.arena()->fd(), F_DUPFD_CLOEXEC, 0));
        if (copy.get() < 0) {
          const int e = errno;
          move_tasks(&task_counts::queued, &task_counts::completed);  // finished, with this exception
          job->fail(std::make_exception_ptr(std::system_error(e, std::generic_category(), "dup of the payload arena")));
          job.reset();
          return true;
        }
        if (!w.tasks.try_add(detail::frame_kind::channel, 3, {}, true, control_reserve)) return false;
        w.writer.add_fd(detail::frame_kind::channel, 3, copy.release(), job->arena.arena()->capacity());
        w.has_arena = true;
      }
      if (!w.tasks.try_add_arena(kind, id, job->arena.offset(), job->arena.size(), control_reserve)) return false;
    } else if (!w.tasks.try_add(kind, id, job->payload, false, control_reserve)) {
      return false;
    }
    ++next_id;
    if (w.in_flight.empty()) w.head_started = clock::now();
    w.in_flight.emplace_back(id, std::move(job));
    move_tasks(&task_counts::queued, &task_counts::in_flight);
    if (options.max_tasks_per_child != 0 && ++w.sent >= options.max_tasks_per_child) {
      add_control(w, detail::frame_kind::retire, 0);
      w.retiring = true;
    }
    return true;
  }

  void flush(worker& w) {
    if (!w.socket_open || w.write_closed) return;
    bool alive;
    try {
      alive = w.writer.flush(w.proc.socket);
    } catch (const std::exception&) {
      alive = false;
    }
    if (!alive) {
      // The worker is gone (its pidfd will say how), but results it sent before dying may
      // still wait in our receive buffer: keep the socket for reading until it is reaped, or a
      // task that finished would be charged with the crash.
      w.write_closed = true;
      if (w.want_out) {
        watch_fd(w.proc.socket, EPOLLIN | EPOLLRDHUP, &w.sock_watch, EPOLL_CTL_MOD);
        w.want_out = false;
      }
      return;
    }
    const bool want = !w.writer.empty();
    if (want != w.want_out) {
      watch_fd(w.proc.socket, EPOLLIN | EPOLLRDHUP | (want ? EPOLLOUT : 0u), &w.sock_watch, EPOLL_CTL_MOD);
      w.want_out = want;
    }
  }

  // ---- time ----
  std::chrono::nanoseconds timeout_of(const detail::pool_job& job) const {
    return job.timeout.count() > 0 ? job.timeout : std::chrono::nanoseconds(options.task_timeout);
  }

  // When the worker's oldest job started: the worker's own record once it runs it, the pool's
  // estimate (when the job became the oldest) before that.
  clock::time_point head_start(const worker& w) const {
    if (w.channel.mapped()) {
      const auto& c = w.channel.control();
      if (c.running_task.load(std::memory_order_acquire) == w.in_flight.front().first) {
        return clock::time_point(std::chrono::nanoseconds(c.running_since_ns.load(std::memory_order_relaxed)));
      }
    }
    return w.head_started;
  }

  int next_timeout_ms() const {
    auto earliest = clock::time_point::max();
    for (auto& w : workers) {
      if (w->killed || w->state == phase::exited) continue;
      if (w->state == phase::starting) earliest = std::min(earliest, w->start_deadline);
      if (!w->in_flight.empty()) {
        const auto t = timeout_of(*w->in_flight.front().second);
        if (t.count() > 0) earliest = std::min(earliest, head_start(*w) + t);
      }
    }
    // Without pidfds, SIGCHLD is the only exit notice, and a program that installs its own
    // SIGCHLD handler after ours silences it: look now and then as well.
    const bool polling = std::any_of(workers.begin(), workers.end(),
                                     [](auto& w) { return w->proc.pidfd < 0 && w->state != phase::exited; });
    if (polling) earliest = std::min(earliest, clock::now() + fallback_reap_interval);
    if (reap_check_pending) return 0;
    if (earliest == clock::time_point::max()) return -1;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(earliest - clock::now()).count();
    return static_cast<int>(std::clamp<long long>(left, 0, 60'000));
  }

  void check_deadlines() {
    const auto now = clock::now();
    for (auto& w : workers) {
      if (w->killed || w->state == phase::exited) continue;
      if (w->state == phase::starting && now >= w->start_deadline) {
        kill_worker(*w, std::make_exception_ptr(worker_start_error(
                            "worker process " + std::to_string(w->proc.pid) + " did not answer its handshake within " +
                            std::to_string(options.start_timeout.count()) + " ms; " + detail::missing_guard_hint())));
        continue;
      }
      if (!w->in_flight.empty()) {
        const auto t = timeout_of(*w->in_flight.front().second);
        if (t.count() > 0 && now >= head_start(*w) + t) {
          kill_worker(*w, std::make_exception_ptr(task_timeout_error(
                              "task '" + std::string(w->in_flight.front().second->task_name) +
                                  "' ran longer than its timeout of " +
                                  std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(t).count()) +
                                  " ms; worker process " + std::to_string(w->proc.pid) + " was killed",
                              w->proc.pid)));
        }
      }
    }
  }

  // ---- the loop ----
  void run() {
    try {
      for (std::size_t i = 0; i < options.workers; ++i) spawn_one();
    } catch (const std::exception& e) {
      start_failed(e.what());
    }
    epoll_event events[64];
    bool busy = false;  // results came or tasks are in flight: spin before sleeping
    for (;;) {
      // A start failure with no worker left has nothing to wait for: no pidfd, no socket and no
      // deadline would ever end the epoll_wait below (the constructor would hang joining us).
      if (stop != stop_kind::none && workers.empty()) break;
      int timeout = next_timeout_ms();
      if (timeout != 0) timeout = prepare_sleep(timeout, busy);
      const int n = ::epoll_wait(epoll, events, 64, timeout);
      end_sleep();
      if (n < 0 && errno != EINTR) {
        std::fprintf(stderr, "trident: process pool epoll_wait failed: %s\n", std::strerror(errno));
        std::abort();
      }
      for (int i = 0; i < n; ++i) {
        auto* w = static_cast<watch*>(events[i].data.ptr);
        if (w == &wake_watch || w == &results_watch) {
          std::uint64_t v;
          (void)!::read(w == &wake_watch ? wake_fd : results_fd, &v, sizeof v);
          continue;
        }
        if (w == &sigchld_watch) {
          reap_check_pending = true;  // shared and edge-triggered: never read here
          continue;
        }
        if (w->w->state == phase::exited) continue;
        if (w->is_pidfd) {
          // Drain what it said before dying: results sent just before a crash still count.
          if (w->w->socket_open) on_readable(*w->w);
          on_exit(*w->w);
        } else {
          if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) on_readable(*w->w);
          if ((events[i].events & EPOLLOUT) && w->w->socket_open) flush(*w->w);
        }
      }
      if (watching_sigchld) reap_workers_without_pidfd();
      bool delivered = false;
      for (auto& w : workers) {
        const std::size_t before = w->in_flight.size();
        drain_results(*w);
        delivered = delivered || w->in_flight.size() != before;
      }
      take_incoming();
      check_deadlines();
      if (initial_start && stop == stop_kind::none &&
          std::all_of(workers.begin(), workers.end(), [](auto& w) { return w->state == phase::ready; })) {
        initial_start = false;
        std::lock_guard lock(mutex);
        start_done = true;
        started_cv.notify_all();
      }
      dispatch();
      // After dispatch, which drops the jobs cancelled while queued: a queue that only held
      // those is empty now, and nothing else may wake this thread to retire the workers.
      if (stop == stop_kind::wait || stop == stop_kind::cancel_pending) {
        if (ready.empty()) {
          for (auto& w : workers) {
            if (w->state == phase::starting) kill_worker(*w, nullptr);
            if (w->state == phase::ready && !w->retiring && w->in_flight.empty()) {
              add_control(*w, detail::frame_kind::retire, 0);
              w->retiring = true;
            }
          }
        }
      }
      publish_tasks();
      busy = delivered || std::any_of(workers.begin(), workers.end(), [](auto& w) { return !w->in_flight.empty(); });
      for (auto& w : workers) {
        if (w->state != phase::exited && !w->writer.empty()) flush(*w);
      }
      // Forget reaped workers; start replacements while there is (or may be) work.
      const std::size_t before = workers.size();
      std::erase_if(workers, [](auto& w) { return w->state == phase::exited; });
      const bool replace = stop == stop_kind::none || (stop == stop_kind::wait && !ready.empty());
      if (replace) {
        try {
          while (workers.size() < options.workers) spawn_one();
        } catch (const std::exception& e) {
          start_failed(e.what());
        }
      } else if (workers.size() != before) {
        publish_pids();
      }
      lend();
      if (stop != stop_kind::none && workers.empty()) break;
    }
    // Anything that slipped in after the stop (none can: accepting is false) or is left over.
    fail_all_queued<shutdown_error>("process pool was shut down");
    publish_pids();
  }

  void request_stop(stop_kind kind) {
    {
      std::lock_guard lock(mutex);
      accepting = false;
      // A stronger request overrides a weaker one still pending.
      if (static_cast<int>(kind) > static_cast<int>(stop_request)) stop_request = kind;
    }
    wake();
  }
};

process_pool::process_pool(std::size_t workers) : process_pool(process_pool_options{.workers = workers}) {}

process_pool::process_pool(process_pool_options options) : impl_(std::make_unique<impl>(std::move(options))) {
  if (impl_->options.workers == 0) throw std::invalid_argument("process_pool needs at least one worker");
  // Refuse early inside a stray worker (see worker_main.hpp) rather than start a chain.
  if (std::getenv("TRIDENT_WORKER_PENDING") != nullptr) {
    throw worker_start_error("this process was started as a Trident worker but ran the program's own code instead; " +
                             detail::missing_guard_hint());
  }
  impl_->epoll = ::epoll_create1(EPOLL_CLOEXEC);
  impl_->wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  impl_->results_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (impl_->epoll < 0 || impl_->wake_fd < 0 || impl_->results_fd < 0) {
    const int e = errno;
    if (impl_->epoll >= 0) ::close(impl_->epoll);
    if (impl_->wake_fd >= 0) ::close(impl_->wake_fd);
    if (impl_->results_fd >= 0) ::close(impl_->results_fd);
    throw std::system_error(e, std::generic_category(), "process_pool: epoll/eventfd");
  }
  impl_->watch_fd(impl_->wake_fd, EPOLLIN, &impl_->wake_watch);
  impl_->watch_fd(impl_->results_fd, EPOLLIN, &impl_->results_watch);
  impl_->io = std::thread([p = impl_.get()] { p->run(); });
  if (impl_->arena) impl_->arena->never_wait_on(impl_->io.get_id());
  std::unique_lock lock(impl_->mutex);
  impl_->started_cv.wait(lock, [&] { return impl_->start_done; });
  if (!impl_->start_error.empty()) {
    const std::string message = impl_->start_error;
    lock.unlock();
    impl_->io.join();
    ::close(impl_->epoll);
    ::close(impl_->wake_fd);
    ::close(impl_->results_fd);
    throw worker_start_error(message);
  }
}

process_pool::~process_pool() {
  if (!impl_) return;
  shutdown(shutdown_mode::wait);
  ::close(impl_->epoll);
  ::close(impl_->wake_fd);
  ::close(impl_->results_fd);
}

void process_pool::enqueue(std::unique_ptr<detail::pool_job> job) {
  {
    std::lock_guard lock(impl_->mutex);
    if (!impl_->broken.empty()) throw worker_start_error(impl_->broken);
    if (!impl_->accepting) throw shutdown_error("process pool is shut down");
    if (impl_->incoming.empty() && impl_->try_direct(job)) {
      // In the worker's ring already; the I/O thread completes it without being woken now.
      std::lock_guard stats_lock(impl_->stats_mutex);
      ++impl_->counts.submitted;
      ++impl_->counts.in_flight;
      return;
    }
    impl_->incoming.push_back(std::move(job));
    // Counted while the job cannot yet be taken, so the I/O thread never moves it out of
    // `queued` before it is in.
    std::lock_guard stats_lock(impl_->stats_mutex);
    ++impl_->counts.submitted;
    ++impl_->counts.queued;
  }
  impl_->wake();
}

void process_pool::enqueue_all(std::vector<std::unique_ptr<detail::pool_job>> jobs) {
  const std::size_t n = jobs.size();
  {
    std::lock_guard lock(impl_->mutex);
    if (!impl_->broken.empty()) throw worker_start_error(impl_->broken);
    if (!impl_->accepting) throw shutdown_error("process pool is shut down");
    for (auto& j : jobs) impl_->incoming.push_back(std::move(j));
    std::lock_guard stats_lock(impl_->stats_mutex);
    impl_->counts.submitted += n;
    impl_->counts.queued += n;
  }
  impl_->wake();
}

void process_pool::shutdown(shutdown_mode mode) {
  impl_->request_stop(mode == shutdown_mode::wait ? stop_kind::wait : stop_kind::cancel_pending);
  impl_->join_io();
}

void process_pool::terminate() {
  impl_->request_stop(stop_kind::terminate);
  impl_->join_io();
}

std::size_t process_pool::size() const noexcept { return impl_->options.workers; }

detail::payload_arena* process_pool::payload_arena() const noexcept { return impl_->arena.get(); }

process_pool_statistics process_pool::statistics() const {
  process_pool_statistics s;
  s.workers = impl_->options.workers;
  {
    std::lock_guard lock(impl_->stats_mutex);
    s.submitted = impl_->counts.submitted;
    s.queued = impl_->counts.queued;
    s.in_flight = impl_->counts.in_flight;
    s.completed = impl_->counts.completed;
    s.crashed = impl_->counts.crashed;
    s.cancelled = impl_->counts.cancelled;
  }
  s.started = impl_->started.load(std::memory_order_relaxed);
  std::lock_guard lock(impl_->mutex);
  s.worker_pids = impl_->pids;
  return s;
}

std::ostream& operator<<(std::ostream& out, const process_pool_statistics& s) {
  return out << "workers:" << s.workers << " submitted:" << s.submitted << " queued:" << s.queued
             << " in_flight:" << s.in_flight << " completed:" << s.completed << " crashed:" << s.crashed
             << " cancelled:" << s.cancelled << " started:" << s.started;
}

std::ostream& operator<<(std::ostream& out, const process_pool& pool) {
  return out << "<process_pool " << pool.statistics() << '>';
}

}  // namespace trident::proc
