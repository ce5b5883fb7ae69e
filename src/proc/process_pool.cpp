// process_pool: the I/O thread that drives every worker of a pool.
//
// One thread per pool owns all worker channels, multiplexed with epoll; user threads only queue
// jobs (under `mutex_`) and poke an eventfd. The I/O thread is also the thread that spawns the
// workers, so that PR_SET_PDEATHSIG (which follows the spawning *thread*) lasts as long as the
// pool does.
//
// Worker life cycle:
//   1. spawn (posix_spawn of /proc/self/exe in worker mode) -> `starting`, with a deadline.
//   2. `hello` frame -> `ready`. The pool constructor returns once every first worker is ready.
//   3. Jobs are pipelined: a worker may hold several in flight (more when the queue is long), and
//      runs them in order, so the oldest in-flight job is the one running. Its timeout counts
//      from when it became the oldest.
//   4. Results come back in order; each completes its job's promise on this thread.
//   5. The worker's pidfd becomes readable when it exits; it is reaped at once (no zombies).
//      Where pidfd_open is unavailable (old kernels, seccomp, valgrind), a SIGCHLD handler pokes
//      an eventfd in the epoll set instead and each such worker is polled with
//      waitpid(pid, WNOHANG): only our own PIDs, so other children's statuses stay the program's.
//      If it died with jobs in flight, the oldest one fails (worker_crashed_error naming the
//      signal, or task_timeout_error if we killed it for its timeout); the others go back to
//      the front of the queue. A replacement starts unless the pool is stopping.
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
#include <string>
#include <system_error>
#include <thread>

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
    watch sock_watch{this, false};
    watch pid_watch{this, true};
  };

  explicit impl(process_pool_options o) : options(std::move(o)) {}

  process_pool_options options;

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
  std::vector<int> pids;  // guarded by mutex

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
  watch sigchld_watch{nullptr, false};
  bool watching_sigchld = false;
  bool reap_check_pending = false;
  static constexpr std::chrono::milliseconds fallback_reap_interval{200};

  void wake() {
    if (!wake_pending.exchange(true, std::memory_order_acq_rel)) {
      const std::uint64_t one = 1;
      ssize_t r;
      do {
        r = ::write(wake_fd, &one, sizeof one);
      } while (r < 0 && errno == EINTR);
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
    workers.push_back(std::move(w));
    publish_pids();
  }

  /// While this process traces, a new worker records a span per task and sends its spans back
  /// (`trace_spans` frames, merged into this process's export); otherwise it records nothing.
  void ask_to_trace(worker& w) {
    if (trace::enabled()) w.writer.add(detail::frame_kind::trace_on, started.load(std::memory_order_relaxed), {});
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
        while (auto f = w.reader.next()) on_frame(w, *f);
      } catch (const std::exception&) {
        kill_worker(w, std::current_exception());
        close_socket(w);
        return;
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
        trace::import_spans(f.payload);
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
    if (!w.in_flight.empty()) {
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
    while (!ready.empty()) {
      worker* best = nullptr;
      for (auto& w : workers) {
        if (w->state != phase::ready || w->retiring || w->killed || !w->socket_open || w->write_closed) continue;
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
      send(*best, std::move(job));
    }
  }

  void send(worker& w, std::unique_ptr<detail::pool_job> job) {
    const std::uint64_t id = next_id++;
    try {
      if (job->payload_fd >= 0) {
        w.writer.add_shared_fd(job->kind, id, job->payload_fd, job->payload_size);
      } else {
        w.writer.add(job->kind, id, job->payload);
      }
    } catch (...) {
      move_tasks(&task_counts::queued, &task_counts::completed);  // finished, with this exception
      job->fail(std::current_exception());
      return;
    }
    if (w.in_flight.empty()) w.head_started = clock::now();
    w.in_flight.emplace_back(id, std::move(job));
    move_tasks(&task_counts::queued, &task_counts::in_flight);
    if (options.max_tasks_per_child != 0 && ++w.sent >= options.max_tasks_per_child) {
      w.writer.add(detail::frame_kind::retire, 0, {});
      w.retiring = true;
    }
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

  int next_timeout_ms() const {
    auto earliest = clock::time_point::max();
    for (auto& w : workers) {
      if (w->killed || w->state == phase::exited) continue;
      if (w->state == phase::starting) earliest = std::min(earliest, w->start_deadline);
      if (!w->in_flight.empty()) {
        const auto t = timeout_of(*w->in_flight.front().second);
        if (t.count() > 0) earliest = std::min(earliest, w->head_started + t);
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
        if (t.count() > 0 && now >= w->head_started + t) {
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
    for (;;) {
      // A start failure with no worker left has nothing to wait for: no pidfd, no socket and no
      // deadline would ever end the epoll_wait below (the constructor would hang joining us).
      if (stop != stop_kind::none && workers.empty()) break;
      const int n = ::epoll_wait(epoll, events, 64, next_timeout_ms());
      if (n < 0 && errno != EINTR) {
        std::fprintf(stderr, "trident: process pool epoll_wait failed: %s\n", std::strerror(errno));
        std::abort();
      }
      for (int i = 0; i < n; ++i) {
        auto* w = static_cast<watch*>(events[i].data.ptr);
        if (w == &wake_watch) {
          std::uint64_t v;
          (void)!::read(wake_fd, &v, sizeof v);
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
      take_incoming();
      check_deadlines();
      if (initial_start && stop == stop_kind::none &&
          std::all_of(workers.begin(), workers.end(), [](auto& w) { return w->state == phase::ready; })) {
        initial_start = false;
        std::lock_guard lock(mutex);
        start_done = true;
        started_cv.notify_all();
      }
      if (stop == stop_kind::wait || stop == stop_kind::cancel_pending) {
        if (ready.empty()) {
          for (auto& w : workers) {
            if (w->state == phase::starting) kill_worker(*w, nullptr);
            if (w->state == phase::ready && !w->retiring && w->in_flight.empty()) {
              w->writer.add(detail::frame_kind::retire, 0, {});
              w->retiring = true;
            }
          }
        }
      }
      dispatch();
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
  if (impl_->epoll < 0 || impl_->wake_fd < 0) {
    if (impl_->epoll >= 0) ::close(impl_->epoll);
    if (impl_->wake_fd >= 0) ::close(impl_->wake_fd);
    throw std::system_error(errno, std::generic_category(), "process_pool: epoll/eventfd");
  }
  impl_->watch_fd(impl_->wake_fd, EPOLLIN, &impl_->wake_watch);
  impl_->io = std::thread([p = impl_.get()] { p->run(); });
  std::unique_lock lock(impl_->mutex);
  impl_->started_cv.wait(lock, [&] { return impl_->start_done; });
  if (!impl_->start_error.empty()) {
    const std::string message = impl_->start_error;
    lock.unlock();
    impl_->io.join();
    ::close(impl_->epoll);
    ::close(impl_->wake_fd);
    throw worker_start_error(message);
  }
}

process_pool::~process_pool() {
  if (!impl_) return;
  shutdown(shutdown_mode::wait);
  ::close(impl_->epoll);
  ::close(impl_->wake_fd);
}

void process_pool::enqueue(std::unique_ptr<detail::pool_job> job) {
  {
    std::lock_guard lock(impl_->mutex);
    if (!impl_->broken.empty()) throw worker_start_error(impl_->broken);
    if (!impl_->accepting) throw shutdown_error("process pool is shut down");
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
