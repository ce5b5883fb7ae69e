// process_pool's I/O thread: dispatch. Moving queued jobs into the workers' task rings, the
// direct path that lets a caller skip the queue, and the socket writes that carry memfds. The
// state is process_pool::impl (pool_impl.hpp).
//
// Pipelining: a worker may hold several jobs in flight, more when the queue is long
// (throughput), one each when it is short (balance between workers when tasks are uneven).
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

#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <exception>
#include <memory>
#include <mutex>
#include <system_error>
#include <utility>
#include <vector>

#include "pool_impl.hpp"

namespace trident::proc {

// Caller, `mutex` held, nothing queued: puts `job` straight into the lent worker's task ring.
// Returns false, keeping the job, where it must take the ordinary way (its payload is a
// memfd, it has a timeout, the ring is full).
bool process_pool::impl::try_direct(std::unique_ptr<detail::pool_job>& job) {
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
void process_pool::impl::take_back_lent() {
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
void process_pool::impl::lend() {
  if (lent_io != nullptr || stop != stop_kind::none || !ready.empty()) return;
  if (options.task_timeout.count() > 0 || options.max_tasks_per_child != 0) return;
  for (auto& w : workers) {
    if (w->state != phase::ready || w->retiring || w->killed || !w->socket_open || w->write_closed || w->ring_broken ||
        !w->in_flight.empty()) {
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

void process_pool::impl::dispatch() {
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
bool process_pool::impl::send(worker& w, std::unique_ptr<detail::pool_job>& job) {
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

void process_pool::impl::add_control(worker& w, detail::frame_kind kind, std::uint64_t id) {
  // Tasks leave `control_reserve` bytes free, so this fits.
  if (!w.tasks.try_add(kind, id, {})) {
    kill_worker(w, std::make_exception_ptr(protocol_error("worker channel: task ring full for a control frame")));
  }
}

// Publishes the tasks added to each worker's ring, waking those that sleep.
void process_pool::impl::publish_tasks() {
  for (auto& w : workers) {
    if (w->state == phase::exited || !w->channel.mapped()) continue;
    if (w->tasks.publish()) detail::wake_if_sleeping(w->channel.control().worker_sleeping, w->wake_fd.get());
  }
}

void process_pool::impl::flush(worker& w) {
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

}  // namespace trident::proc
