// process_pool: the handle. What callers run (queueing jobs, the direct path's hand-over, shutdown,
// statistics) and the pool's construction: the epoll set and eventfds, then the I/O thread,
// waiting until every first worker has said hello.
//
// The pool's work is done by one I/O thread per pool, cut at its seams into io_loop.cpp (the
// loop, sleeping, stopping), workers.cpp (worker life cycle), dispatch.cpp (sending, the direct
// path included) and deadlines.cpp (time); pool_impl.hpp holds the state they share and says
// what is shared with callers.

#include "trident/proc/process_pool.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <ostream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "pool_impl.hpp"

namespace trident::proc {

std::size_t process_pool_options::default_worker_count() noexcept {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

namespace {

/// The destructor's end when it cannot join the pool's I/O thread: destroyed on that thread
/// itself (the last owner dropped in a continuation, which the continuation contract forbids),
/// or a lock failing. Returning would free the state the thread still runs on, and a throw from
/// a destructor ends the program anyway, with a less helpful word: say why, then end it, as
/// std::thread's destructor does for a thread nobody joined.
[[noreturn]] void io_thread_not_joined(const char* why) noexcept {
  std::fprintf(stderr,
               "trident: ~process_pool could not stop its I/O thread (%s); destroy a pool elsewhere than "
               "in a continuation of its own futures\n",
               why);
  std::terminate();
}

}  // namespace

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
  try {
    shutdown(shutdown_mode::wait);
  } catch (const std::exception& e) {
    io_thread_not_joined(e.what());
  } catch (...) {
    io_thread_not_joined("unknown exception");
  }
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
  impl_->request_stop(mode == shutdown_mode::wait ? impl::stop_kind::wait : impl::stop_kind::cancel_pending);
  impl_->join_io();
}

void process_pool::terminate() {
  impl_->request_stop(impl::stop_kind::terminate);
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
