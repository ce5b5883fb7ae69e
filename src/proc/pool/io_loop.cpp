// process_pool's I/O thread: the loop itself. A round reads what the workers said (workers.cpp),
// takes in the callers' jobs, checks deadlines (deadlines.cpp), sends (dispatch.cpp), publishes
// the rings and starts replacements; between rounds the thread spins for its budget while tasks
// are in flight, then sleeps in epoll_wait until a caller, a worker or a deadline wakes it. The
// state it shares with the other parts is process_pool::impl (pool_impl.hpp).
//
// Shutdown:
//   graceful: stop accepting; when queue and in-flight lists are empty, send `retire` to every
//             worker; reap them all; the thread exits.
//   cancel_pending: as graceful, but queued jobs are cancelled first.
//   terminate: SIGKILL every worker; queued and in-flight jobs fail with cancelled_error.

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

#include "pool_impl.hpp"

namespace trident::proc {

void process_pool::impl::move_tasks(std::size_t task_counts::*from, std::size_t task_counts::*to, std::size_t n) {
  if (n == 0) return;
  std::lock_guard lock(stats_mutex);
  if (counts.*from < n) {
    std::fprintf(stderr, "trident: process pool task counters out of step\n");
    std::abort();
  }
  counts.*from -= n;
  counts.*to += n;
}

void process_pool::impl::join_io() {
  std::lock_guard lock(join_mutex);
  if (!io.joinable()) return;
  if (io.get_id() == std::this_thread::get_id()) {
    throw std::logic_error("process_pool: shutdown from its own I/O thread (a continuation)");
  }
  io.join();
}

// Callers: a system call only while the I/O thread sleeps (or is about to); the fences pair
// with those in `prepare_sleep`.
void process_pool::impl::wake() {
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

void process_pool::impl::watch_fd(int fd, std::uint32_t events, watch* w, int op) const {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = w;
  if (::epoll_ctl(epoll, op, fd, &ev) != 0) throw std::system_error(errno, std::generic_category(), "epoll_ctl");
}

// Before epoll_wait with `timeout` (not 0): spins for results while tasks are in flight or
// results just came, then says it sleeps. Returns the timeout to use (0: something came).
int process_pool::impl::prepare_sleep(int timeout, bool busy) {
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

void process_pool::impl::end_sleep() {
  io_sleeping.store(false, std::memory_order_relaxed);
  if (!worker_flags_set) return;
  worker_flags_set = false;
  for (auto& w : workers) {
    if (w->state != phase::exited && w->channel.mapped()) {
      w->channel.control().pool_sleeping.store(0, std::memory_order_relaxed);
    }
  }
}

void process_pool::impl::request_stop(stop_kind kind) {
  {
    std::lock_guard lock(mutex);
    accepting = false;
    // A stronger request overrides a weaker one still pending.
    if (static_cast<int>(kind) > static_cast<int>(stop_request)) stop_request = kind;
  }
  wake();
}

void process_pool::impl::take_incoming() {
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

void process_pool::impl::begin_stop(stop_kind kind) {
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

// Each job gets an exception object of its own, and this thread keeps no reference to it: an
// exception_ptr shared with the waiter and released here races in ThreadSanitizer's eyes (its
// reference count is inside uninstrumented libstdc++; see tests/tsan.supp).
template <class Error>
void process_pool::impl::fail_all_queued(const std::string& message) {
  take_incoming();
  move_tasks(&task_counts::queued, &task_counts::cancelled, ready.size());
  for (auto& job : ready) job->fail(std::make_exception_ptr(Error(message)));
  ready.clear();
}

void process_pool::impl::start_failed(const std::string& message) {
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

void process_pool::impl::run() {
  try {
    for (std::size_t i = 0; i < options.workers; ++i) start_one();
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
        while (workers.size() < options.workers) start_one();
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

}  // namespace trident::proc
