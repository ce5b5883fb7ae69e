// cluster_pool: the typed front end. Alone it forwards to a local process pool; under mpirun it
// hands encoded jobs to the driver's communication thread (driver.cpp).

#include "trident/cluster/cluster_pool.hpp"

#include <algorithm>
#include <atomic>
#include <ostream>

#include "runtime.hpp"
#include "trident/cluster/worker_main.hpp"

namespace trident::cluster {

struct cluster_pool::impl {
  cluster_pool_options options;
  std::atomic<bool> closed{false};  ///< shutdown() or terminate() ran (they may race)
};

cluster_pool::cluster_pool(cluster_pool_options options) {
  if (options.tasks_in_flight_per_worker == 0) options.tasks_in_flight_per_worker = 1;
  if (!detail::driver_active()) {
    proc::process_pool_options local;
    if (options.local_workers != 0) local.workers = options.local_workers;
    local.task_timeout = options.task_timeout;
    local_ = std::make_unique<proc::process_pool>(std::move(local));
    impl_ = std::make_unique<impl>();
    impl_->options = options;
    return;
  }
  impl_ = std::make_unique<impl>();
  impl_->options = options;
  detail::pool_config config;
  config.executor = options.executor;
  config.workers_per_rank = options.workers_per_rank;
  config.tasks_in_flight_per_worker = options.tasks_in_flight_per_worker;
  config.task_timeout = options.task_timeout;
  config.rerun_lost_tasks = options.rerun_lost_tasks;
  config.max_attempts = std::max<std::size_t>(1, options.max_attempts);
  detail::driver_open(config);
}

cluster_pool::~cluster_pool() {
  try {
    shutdown();
  } catch (...) {  // a destructor must not throw; shutdown() reports to those who call it
  }
}

void cluster_pool::enqueue(std::unique_ptr<proc::lowlevel::job> job) {
  std::vector<std::unique_ptr<proc::lowlevel::job>> jobs;
  jobs.push_back(std::move(job));
  detail::driver_enqueue(std::move(jobs));
}

void cluster_pool::enqueue_all(std::vector<std::unique_ptr<proc::lowlevel::job>> jobs) {
  detail::driver_enqueue(std::move(jobs));
}

void cluster_pool::shutdown(shutdown_mode mode) {
  if (local_) {
    local_->shutdown(mode);
    return;
  }
  if (impl_->closed.exchange(true)) return;
  detail::driver_close(false, mode == shutdown_mode::cancel_pending);
}

void cluster_pool::terminate() {
  if (local_) {
    local_->terminate();
    return;
  }
  if (impl_->closed.exchange(true)) return;
  detail::driver_close(true, true);
}

std::size_t cluster_pool::size() const noexcept {
  if (local_) return local_->size();
  try {
    return detail::driver_total_workers();
  } catch (...) {
    return 0;
  }
}

std::size_t cluster_pool::window() const noexcept { return 4 * std::max<std::size_t>(1, size()); }

std::chrono::milliseconds cluster_pool::options_timeout() const noexcept { return impl_->options.task_timeout; }

cluster_pool_statistics cluster_pool::statistics() const {
  if (!local_) return detail::driver_statistics();
  const auto local = local_->statistics();
  cluster_pool_statistics s;
  s.submitted = local.submitted;
  s.queued = local.queued;
  s.in_flight = local.in_flight;
  s.completed = local.completed;
  s.lost = local.crashed;
  s.cancelled = local.cancelled;
  return s;
}

std::ostream& operator<<(std::ostream& out, const cluster_pool_statistics& s) {
  out << (s.distributed ? "cluster" : "local") << " pool: submitted=" << s.submitted << " queued=" << s.queued
      << " in_flight=" << s.in_flight << " completed=" << s.completed << " lost=" << s.lost << " rerun=" << s.rerun
      << " cancelled=" << s.cancelled;
  for (const auto& r : s.ranks) {
    out << "\n  rank " << r.rank << " (pid " << r.pid << " on " << r.host << ", " << r.workers
        << " workers): " << r.completed << " tasks, " << r.items << " items" << (r.alive ? "" : " [lost]");
  }
  return out;
}

}  // namespace trident::cluster
