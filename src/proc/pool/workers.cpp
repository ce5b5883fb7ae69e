// process_pool's I/O thread: worker life cycle. Starting a worker and its channel, its hello,
// the frames and results it sends back, its exit and reaping. The state is process_pool::impl
// (pool_impl.hpp); only the I/O thread runs this.
//
// The I/O thread is also the thread that starts the workers, so that PR_SET_PDEATHSIG (which
// follows the starting *thread*) lasts as long as the pool does.
//
// Worker life cycle:
//   1. start (a fork of the fork server, or posix_spawn of /proc/self/exe in worker mode) ->
//      `starting`, with a deadline.
//   2. `hello` frame -> `ready`. The pool constructor returns once every first worker is ready.
//   3. Jobs are pipelined (dispatch.cpp): a worker may hold several in flight, and runs them in
//      order, recording in the shared header the id of the one it runs (and since when) before
//      it starts it. Its timeout counts from that start (deadlines.cpp).
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

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "pool_impl.hpp"
#include "trident/trace/process_spans.hpp"
#include "trident/trace/recorder.hpp"

namespace trident::proc {

namespace {

std::exception_ptr remote_from(std::string_view payload) {
  try {
    auto [type, message] = decode<std::pair<std::string, std::string>>(payload);
    return std::make_exception_ptr(remote_error(std::move(type), message));
  } catch (...) {
    return std::current_exception();
  }
}

}  // namespace

void process_pool::impl::start_one() {
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
  w->proc =
      detail::start_worker("pool", options.memory_limit_bytes, {}, options.withheld_environment, options.start_timeout);
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
void process_pool::impl::ask_to_trace(worker& w) {
  if (trace::enabled()) add_control(w, detail::frame_kind::trace_on, started.load(std::memory_order_relaxed));
}

// The no-pidfd fallback: every SIGCHLD of the program wakes this loop.
void process_pool::impl::watch_sigchld() {
  if (watching_sigchld) return;
  watch_fd(detail::sigchld_event_fd(), EPOLLIN | EPOLLET, &sigchld_watch);
  watching_sigchld = true;
}

// Reaps the workers without a pidfd that have exited; leaves every other child alone.
void process_pool::impl::reap_workers_without_pidfd() {
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

void process_pool::impl::publish_pids() {
  std::vector<int> now;
  for (auto& w : workers) {
    if (w->state != phase::exited) now.push_back(w->proc.pid);
  }
  std::lock_guard lock(mutex);
  pids = std::move(now);
}

void process_pool::impl::close_socket(worker& w) {
  if (!w.socket_open) return;
  ::epoll_ctl(epoll, EPOLL_CTL_DEL, w.proc.socket, nullptr);
  ::close(w.proc.socket);
  w.socket_open = false;
}

void process_pool::impl::kill_worker(worker& w, std::exception_ptr why) {
  if (w.killed) return;
  w.killed = true;
  if (!w.failure) w.failure = std::move(why);
  ::kill(w.proc.pid, SIGKILL);
}

void process_pool::impl::on_readable(worker& w) {
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
void process_pool::impl::drain_results(worker& w, bool force) {
  if (!w.channel.mapped() || w.ring_broken || w.state != phase::ready) return;
  if (!force && detail::hold_results_for_testing.load(std::memory_order_relaxed)) return;
  try {
    while (auto f = w.results.next()) {
      // A result of the lent worker: its job came by the direct path. The entry was read first,
      // so the caller's hand-over is visible once we lock; a look at the ring before this read
      // could find it empty and the read then find the result.
      if (w.lent) {
        std::lock_guard lock(mutex);
        take_back_lent();
      }
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

bool process_pool::impl::results_waiting() const {
  if (detail::hold_results_for_testing.load(std::memory_order_relaxed)) return false;
  return std::any_of(workers.begin(), workers.end(),
                     [](auto& w) { return w->state == phase::ready && !w->ring_broken && !w->results.empty(); });
}

void process_pool::impl::on_frame(worker& w, detail::frame& f) {
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

void process_pool::impl::on_exit(worker& w) {
  if (w.state == phase::exited) return;
  int signal = 0;
  int code = -1;
  const std::string how = detail::reap(w.proc.pid, signal, code);
  ::epoll_ctl(epoll, EPOLL_CTL_DEL, w.proc.pidfd, nullptr);
  ::close(w.proc.pidfd);
  on_exited(w, how, signal, code);
}

// The worker has been reaped; `how` says how it ended.
void process_pool::impl::on_exited(worker& w, const std::string& how, int signal, int code) {
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
  const bool head_ran = w.failure || running == 0 || (!w.in_flight.empty() && running == w.in_flight.front().first);
  if (!w.in_flight.empty() && head_ran) {
    auto& head = w.in_flight.front().second;
    std::exception_ptr error = w.failure;
    if (stop == stop_kind::terminate) {
      error = std::make_exception_ptr(cancelled_error("process pool was terminated"));
    } else if (!error) {
      error =
          std::make_exception_ptr(worker_crashed_error("worker process " + std::to_string(w.proc.pid) + " " + how +
                                                           " while running task '" + std::string(head->task_name) + "'",
                                                       w.proc.pid, signal, code));
    }
    // Counted before the waiter can see the failure.
    move_tasks(&task_counts::in_flight, stop == stop_kind::terminate ? &task_counts::cancelled : &task_counts::crashed);
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

}  // namespace trident::proc
