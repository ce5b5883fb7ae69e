// process_pool's I/O thread: deadlines. A starting worker must say hello within the start
// timeout; a worker's oldest job must finish within its timeout (the job's own, else the pool's),
// counted from when the worker recorded that it started it (from when the job became the
// oldest, until then). A worker past either is killed, and its job fails with the reason
// (workers.cpp charges it). The epoll timeout of each round is the nearest deadline. The state
// is process_pool::impl (pool_impl.hpp).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <string>

#include "pool_impl.hpp"

namespace trident::proc {

std::chrono::nanoseconds process_pool::impl::timeout_of(const detail::pool_job& job) const {
  return job.timeout.count() > 0 ? job.timeout : std::chrono::nanoseconds(options.task_timeout);
}

// When the worker's oldest job started: the worker's own record once it runs it, the pool's
// estimate (when the job became the oldest) before that.
auto process_pool::impl::head_start(const worker& w) const -> clock::time_point {
  if (w.channel.mapped()) {
    const auto& c = w.channel.control();
    if (c.running_task.load(std::memory_order_acquire) == w.in_flight.front().first) {
      return clock::time_point(std::chrono::nanoseconds(c.running_since_ns.load(std::memory_order_relaxed)));
    }
  }
  return w.head_started;
}

int process_pool::impl::next_timeout_ms() const {
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

void process_pool::impl::check_deadlines() {
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

}  // namespace trident::proc
