// The driver of the cluster runtime: rank 0's communication thread, which does every MPI call
// of the program, and the books it keeps for the pools (ranks, credit, tasks in flight, lost
// ranks). Pools reach it through runtime.hpp's functions, which are thread-safe.
//
// Liveness: the driver sends a heartbeat to a rank when it has sent it nothing else for a
// heartbeat interval; a rank it hears nothing from for the peer timeout is reported lost with
// the tasks it held. Then either the pool's tasks are re-runnable and the lost rank's go to the
// surviving ranks, or every task fails, the other ranks are told to leave, and the program exits
// non-zero (see docs/cluster.md).
//
// One job, one file: everything here is `driver_runtime`, one object whose members share one
// mutex and one set of books (the ranks' slots, the queue, the lost ranks), and the thin
// functions of runtime.hpp over it; the worker ranks' side is rank_server.cpp, the messages
// messages.hpp.
// The seams a cut could follow (the communication loop, losing a rank, the outcome at exit)
// each read and write those same books under that mutex, so splitting them would put the
// class's private state in a header for three files to share.

#include <mpi.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "messages.hpp"
#include "runtime.hpp"
#include "trident/cluster/detail/task_counts.hpp"
#include "trident/cluster/errors.hpp"
#include "trident/cluster/worker_main.hpp"
#include "trident/core/errors.hpp"
#include "trident/exec/continuation.hpp"
#include "trident/exec/thread_pool.hpp"
#include "trident/proc/codec.hpp"
#include "trident/proc/errors.hpp"
#include "trident/proc/lowlevel.hpp"
#include "trident/proc/process_pool.hpp"
#include "trident/proc/worker_main.hpp"
#include "transport.hpp"

namespace trident::cluster::detail {

using namespace std::chrono_literals;

namespace {

// =============================================================================================
// The driver: rank 0's communication thread and the state it shares with pools.

/// A task as pools hand it to the driver: the process layer's promise-backed job.
using proc::lowlevel::job;

/// A job in the driver's books, with how many times it was sent to a rank (more than once only
/// when its rank was lost and the pool's tasks are re-runnable).
struct tracked_job {
  std::unique_ptr<job> what;
  std::size_t attempts = 0;
};

struct rank_slot {
  int rank = 0;
  bool alive = true;
  bool ready = false;
  bool stopped = false;
  std::string start_error;
  std::string host;
  int pid = 0;
  std::size_t workers = 0;
  std::size_t credit = 0;
  std::size_t completed = 0;
  std::size_t items = 0;
  std::unordered_map<std::uint64_t, tracked_job> in_flight;
  std::unordered_map<std::uint64_t, clock::time_point> sent_at;  ///< when each in-flight task left
  int pidfd = -1;  ///< readable once the rank's process ends (ranks on this host only)
  clock::time_point last_heard;
  clock::time_point last_sent;
};

enum class pool_state { closed, opening, open, draining, stopping };

/// A job that left the driver's books, and how to settle it (outside the lock: settling runs
/// the future's continuations).
struct settlement {
  std::unique_ptr<job> what;
  int rank = 0;
  outcome how = outcome::value;
  std::string bytes;
  std::exception_ptr error;  ///< set: fail with it
  bool cancel = false;       ///< cancel (never ran)
};

class driver_runtime {
 public:
  driver_runtime() {
    const auto now = clock::now();
    for (int r = 1; r < g_ranks; ++r) {
      rank_slot s;
      s.rank = r;
      s.last_heard = now;
      s.last_sent = now;
      ranks_.push_back(std::move(s));
    }
    thread_ = std::thread([this] { loop(); });
    watcher_ = std::thread([this] { watch_local_ranks(); });
  }

  void open(const pool_config& config) {
    std::unique_lock lock(mutex_);
    if (lost_) throw *lost_;
    if (exited_) throw shutdown_error("cluster_pool: the program is exiting");
    if (state_ != pool_state::closed) throw std::logic_error("cluster_pool: one cluster_pool at a time per program");
    config_ = config;
    for (auto& r : ranks_) {
      r.ready = false;
      r.stopped = false;
      r.start_error.clear();
      r.completed = 0;
      r.items = 0;
    }
    submitted_ = completed_ = lost_count_ = cancelled_ = 0;
    state_ = pool_state::opening;
    config_sent_ = false;
    wake_.notify_one();
    // A rank's process pool may take its start timeout (10 s) and more on a loaded machine.
    const auto deadline = clock::now() + g_peer_timeout + 30s;
    changed_.wait_until(lock, deadline, [this] {
      return lost_ || exited_ || std::all_of(ranks_.begin(), ranks_.end(), [](const rank_slot& r) {
               return r.ready || !r.start_error.empty() || !r.alive;
             });
    });
    std::string problem;
    if (lost_) {
      problem = lost_->what();
    } else {
      for (auto& r : ranks_) {
        if (!r.alive) continue;  // lost earlier, and the last pool went on without it
        if (!r.start_error.empty()) problem += fmt::format("rank {}: {}; ", r.rank, r.start_error);
        if (!r.ready && r.start_error.empty()) problem += fmt::format("rank {}: no answer to the set-up; ", r.rank);
      }
    }
    if (problem.empty()) {
      state_ = pool_state::open;
      return;
    }
    lock.unlock();
    close(true, true);
    throw cluster_start_error("cluster_pool: the worker ranks could not start their executors: " + problem);
  }

  void enqueue(std::vector<std::unique_ptr<job>> jobs) {
    if (jobs.empty()) return;
    std::lock_guard lock(mutex_);
    if (lost_) throw *lost_;
    if (state_ != pool_state::open) throw shutdown_error("cluster_pool: submit after shutdown");
    submitted_ += jobs.size();
    for (auto& j : jobs) queue_.push_back(tracked_job{std::move(j), 0});
    wake_.notify_one();
  }

  void close(bool terminate, bool cancel_pending) {
    std::vector<settlement> dropped;
    std::unique_lock lock(mutex_);
    if (state_ == pool_state::closed) return;
    if (terminate || cancel_pending) {
      for (auto& j : queue_) {
        ++cancelled_;
        dropped.push_back(settlement{std::move(j.what), 0, outcome::value, {}, nullptr, true});
      }
      queue_.clear();
    }
    if (terminate) {
      for (auto& r : ranks_) {
        for (auto& [id, j] : r.in_flight) {
          ++cancelled_;
          dropped.push_back(settlement{std::move(j.what), r.rank, outcome::value, {}, nullptr, true});
        }
        r.in_flight.clear();
        r.sent_at.clear();
      }
    }
    state_ = pool_state::draining;
    wake_.notify_one();
    lock.unlock();
    settle(dropped);
    lock.lock();
    changed_.wait(lock, [this] { return lost_ || exited_ || (queue_.empty() && nothing_in_flight()); });
    if (!lost_ && !exited_) {
      state_ = pool_state::stopping;
      stop_terminate_ = terminate;
      stop_sent_ = false;
      wake_.notify_one();
      changed_.wait_until(lock, clock::now() + g_peer_timeout, [this] {
        return lost_ || exited_ ||
               std::all_of(ranks_.begin(), ranks_.end(), [](const rank_slot& r) { return r.stopped || !r.alive; });
      });
    }
    state_ = pool_state::closed;
  }

  cluster_pool_statistics statistics() const {
    std::lock_guard lock(mutex_);
    cluster_pool_statistics s;
    s.distributed = true;
    s.submitted = submitted_;
    s.queued = queue_.size();
    for (auto& r : ranks_) s.in_flight += r.in_flight.size();
    s.completed = completed_;
    s.lost = lost_count_;
    s.rerun = rerun_count_;
    s.cancelled = cancelled_;
    for (auto& r : ranks_) {
      s.ranks.push_back(rank_statistics{r.rank, r.host, r.pid, r.workers, r.completed, r.items, r.alive});
    }
    return s;
  }

  std::size_t total_workers() const {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (auto& r : ranks_) n += r.workers;
    return n;
  }

  /// What the driver tells the program's exit: whether ranks were lost, and whether work was.
  struct exit_report {
    bool ranks_lost = false;
    bool work_lost = false;
    std::string summary;
  };

  /// At program exit: lets every rank go and ends the thread.
  exit_report exit() {
    std::vector<settlement> dropped;
    {
      std::unique_lock lock(mutex_);
      exit_requested_ = true;
      wake_.notify_one();
      changed_.wait(lock, [this] { return exited_; });
      for (auto& j : queue_) dropped.push_back(settlement{std::move(j.what), 0, outcome::value, {}, nullptr, true});
      queue_.clear();
      for (auto& r : ranks_) {
        for (auto& [id, j] : r.in_flight)
          dropped.push_back(settlement{std::move(j.what), r.rank, outcome::value, {}, nullptr, true});
        r.in_flight.clear();
        r.sent_at.clear();
      }
      state_ = pool_state::closed;
    }
    thread_.join();
    watcher_.join();
    settle(dropped);
    std::lock_guard lock(mutex_);
    exit_report report;
    report.ranks_lost = !lost_ranks_.empty();
    // Work is lost when a task is: a rank lost with nothing in flight after the work was done
    // (a survivor that goes silent while the job winds down, as Open MPI's TCP layer can leave it
    // after a peer died) loses nothing, and a submission refused after a loss threw to its caller.
    report.work_lost = lost_count_ > 0;
    report.summary = fmt::format("{} rank(s) lost ({}); {} task(s) re-run on surviving ranks, {} task(s) lost",
                                 lost_ranks_.size(), fmt::join(lost_ranks_, ", "), rerun_count_, lost_count_);
    return report;
  }

 private:
  bool nothing_in_flight() const {
    return std::all_of(ranks_.begin(), ranks_.end(), [](const rank_slot& r) { return r.in_flight.empty(); });
  }

  void post(rank_slot& r, int tag, std::string bytes) {
    if (!sends_.post(r.rank, tag, std::move(bytes))) return;  // the heartbeat check will notice
    r.last_sent = clock::now();
  }

  void loop() {
    backoff wait;
    std::unique_lock lock(mutex_);
    for (;;) {
      std::vector<settlement> done;
      bool active = receive_all(done);
      active |= dispatch(done);
      commands();
      if (exit_sent_ && (sends_.empty() || clock::now() >= exit_deadline_)) {
        sends_.abandon();
        exited_ = true;
        changed_.notify_all();
        return;
      }
      if (g_terminating != 0) report_termination();
      const auto now = clock::now();
      for (auto& r : ranks_) {
        if (r.alive && now - r.last_sent >= g_heartbeat) post(r, tag_heartbeat, {});
      }
      if (!lost_) {
        for (auto& r : ranks_) {
          if (r.alive && now - r.last_heard >= g_peer_timeout) {
            lose(r,
                 fmt::format("no word from it for {:.1f} s", std::chrono::duration<double>(now - r.last_heard).count()),
                 done);
            active = true;
            break;
          }
        }
      }
      sends_.progress();
      if (active || !done.empty()) {
        changed_.notify_all();
        wait.reset();
      }
      if (!done.empty()) {
        lock.unlock();
        settle(done);
        lock.lock();
        continue;
      }
      if (active) continue;
      // With tasks out, a result is due in about a round trip: look a sixteenth of one apart
      // (20 µs to 1 ms). With none, only heartbeats and submissions (which wake it) come.
      std::chrono::microseconds cap = 1000us;
      if (!nothing_in_flight()) {
        cap = std::clamp(std::chrono::duration_cast<std::chrono::microseconds>(round_trip_.value() / 16), 20us, 1000us);
      }
      const auto pause = wait.next(cap);
      if (pause == 0us) {
        lock.unlock();
        std::this_thread::yield();
        lock.lock();
      } else {
        wake_.wait_for(lock, pause);
      }
    }
  }

  /// Ranks on this host are watched through pidfds: a rank that dies is reported at once, before
  /// mpirun (which ends the job when a rank dies) gets to the driver. Ranks elsewhere are found
  /// out by the heartbeats, or by mpirun's SIGTERM (report_termination).
  void watch_local_ranks() {
    for (;;) {
      std::vector<pollfd> fds;
      std::vector<int> ranks;
      {
        std::lock_guard lock(mutex_);
        if (exited_) return;
        for (auto& r : ranks_) {
          if (r.pidfd >= 0 && r.alive) {
            fds.push_back(pollfd{r.pidfd, POLLIN, 0});
            ranks.push_back(r.rank);
          }
        }
      }
      if (::poll(fds.data(), fds.size(), 100) <= 0) continue;
      std::vector<settlement> done;
      {
        std::lock_guard lock(mutex_);
        for (std::size_t k = 0; k < fds.size(); ++k) {
          rank_slot& r = ranks_[static_cast<std::size_t>(ranks[k] - 1)];
          if ((fds[k].revents & POLLIN) != 0 && r.alive && !lost_ && !exited_) lose(r, "its process ended", done);
        }
        sends_.progress();
        changed_.notify_all();
      }
      settle(done);
    }
  }

  bool receive_all(std::vector<settlement>& done) {
    bool any = false;
    for (int i = 0; i < 256; ++i) {
      auto m = try_receive(MPI_ANY_SOURCE);
      if (!m) break;
      any = true;
      if (m->source < 1 || m->source >= g_ranks) continue;
      rank_slot& r = ranks_[static_cast<std::size_t>(m->source - 1)];
      r.last_heard = clock::now();
      if (!r.alive) continue;
      try {
        handle(r, *m, done);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "trident cluster: a malformed message from rank %d: %s\n", r.rank, e.what());
      }
    }
    return any;
  }

  void handle(rank_slot& r, message& m, std::vector<settlement>& done) {
    switch (m.tag) {
      case tag_ready: {
        auto [ok, workers, host, pid, error] = read_ready(m.bytes);
        r.host = std::move(host);
        r.pid = pid;
        if (r.pidfd < 0 && r.host == host_name()) r.pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
        r.workers = workers;
        r.credit = std::max<std::size_t>(1, workers * std::max<std::size_t>(1, config_.tasks_in_flight_per_worker));
        if (ok) {
          r.ready = true;
        } else {
          r.start_error = error.empty() ? std::string("unknown error") : error;
        }
        return;
      }
      case tag_result: {
        result_header h{};
        std::string_view body;
        if (!read_header(m.bytes, h, body)) return;
        auto it = r.in_flight.find(h.id);
        if (it == r.in_flight.end()) return;  // cancelled by terminate(): nobody waits for it
        ++r.completed;
        r.items += it->second.what->calls;
        if (auto sent = r.sent_at.find(h.id); sent != r.sent_at.end()) {
          round_trip_.add(clock::now() - sent->second);
          r.sent_at.erase(sent);
        }
        ++completed_;
        done.push_back(settlement{std::move(it->second.what), r.rank, static_cast<outcome>(h.outcome),
                                  std::string(body), nullptr, false});
        r.in_flight.erase(it);
        return;
      }
      case tag_stopped:
        r.stopped = true;
        return;
      default:
        return;  // heartbeat
    }
  }

  /// Sends queued jobs to the ranks with the most room; true if any left.
  bool dispatch(std::vector<settlement>& done) {
    if (state_ != pool_state::open && state_ != pool_state::draining) return false;
    bool any = false;
    while (!queue_.empty()) {
      rank_slot* best = nullptr;
      std::size_t best_room = 0;
      for (std::size_t k = 0; k < ranks_.size(); ++k) {
        rank_slot& r = ranks_[(next_rank_ + k) % ranks_.size()];
        if (!r.alive || !r.ready) continue;
        const std::size_t room = r.credit > r.in_flight.size() ? r.credit - r.in_flight.size() : 0;
        if (room > best_room) {
          best = &r;
          best_room = room;
        }
      }
      if (best == nullptr) break;
      next_rank_ = static_cast<std::size_t>(best->rank) % ranks_.size();  // the next search starts after it
      tracked_job j = std::move(queue_.front());
      queue_.pop_front();
      any = true;
      // A re-run (attempts > 0) was claimed when it was first sent.
      if (j.attempts == 0 && !j.what->claim()) {  // cancelled through its future while queued
        ++cancelled_;
        done.push_back(settlement{std::move(j.what), 0, outcome::value, {}, nullptr, true});
        continue;
      }
      ++j.attempts;
      task_header h{};
      h.id = next_id_++;
      const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(j.what->timeout);
      h.timeout_ms = static_cast<std::uint32_t>(timeout.count());
      h.kind = static_cast<std::uint8_t>(j.what->kind);
      post(*best, tag_task, with_header(h, j.what->payload));
      best->in_flight.emplace(h.id, std::move(j));
      best->sent_at.emplace(h.id, clock::now());
    }
    return any;
  }

  void commands() {
    if (state_ == pool_state::opening && !config_sent_) {
      const auto body = proc::encode(std::make_tuple(static_cast<std::uint8_t>(config_.executor),
                                                     static_cast<std::uint64_t>(config_.workers_per_rank),
                                                     static_cast<std::uint32_t>(config_.task_timeout.count())));
      for (auto& r : ranks_) {
        if (r.alive) post(r, tag_config, body);
      }
      config_sent_ = true;
    }
    if (state_ == pool_state::stopping && !stop_sent_) {
      for (auto& r : ranks_) {
        if (r.alive) post(r, tag_stop, proc::encode(stop_terminate_));
      }
      stop_sent_ = true;
    }
    if (exit_requested_ && !exit_sent_) {
      for (auto& r : ranks_) {
        // After a loss the ranks leave without MPI_Finalize: it would wait for the lost rank.
        if (r.alive) post(r, tag_exit, proc::encode(lost_.has_value() || !lost_ranks_.empty()));
      }
      exit_sent_ = true;
      exit_deadline_ = clock::now() + std::min<std::chrono::milliseconds>(g_peer_timeout, 5000ms);
    }
  }

  /// mpirun sent SIGTERM: it ends the job, because a rank died (Open MPI's default) or it was
  /// interrupted. Says which ranks on this host are gone and which tasks were unfinished where,
  /// then dies of the signal as it would have.
  [[noreturn]] void report_termination() {
    std::string report = "trident cluster: the launcher is ending the job (a rank died, or mpirun was interrupted)";
    for (auto& r : ranks_) {
      const bool gone = r.pid > 0 && r.host == host_name() && ::kill(r.pid, 0) != 0 && errno == ESRCH;
      std::vector<std::string> names;
      for (auto& [id, j] : r.in_flight) names.emplace_back(j.what->task_name);
      report += fmt::format("\n  rank {}{}{}: {} task(s) unfinished{}{}", r.rank,
                            r.pid > 0 ? fmt::format(" (pid {} on {})", r.pid, r.host) : std::string(),
                            gone ? " is gone" : "", names.size(), names.empty() ? "" : ": ", count_task_names(names));
    }
    if (!queue_.empty()) report += fmt::format("\n  {} task(s) still queued on the driver", queue_.size());
    std::fprintf(stderr, "%s\n", report.c_str());
    std::fflush(nullptr);
    std::signal(SIGTERM, SIG_DFL);
    ::kill(::getpid(), SIGTERM);
    for (;;) ::pause();
  }

  /// Rank `lost` is gone: reports it with the tasks it held. When the pool's tasks are
  /// re-runnable and another rank is left, they go back to the front of the queue (those sent
  /// `max_attempts` times fail) and the pool goes on without the rank. Otherwise those tasks and
  /// every other fail, and the surviving ranks are told to leave (the job cannot go on).
  void lose(rank_slot& lost, const std::string& why, std::vector<settlement>& done) {
    lost.alive = false;
    std::vector<std::pair<std::uint64_t, tracked_job>> held;
    for (auto& [id, j] : lost.in_flight) held.emplace_back(id, std::move(j));
    lost.in_flight.clear();
    lost.sent_at.clear();
    std::sort(held.begin(), held.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::string> names;
    for (auto& [id, j] : held) names.emplace_back(j.what->task_name);
    std::sort(names.begin(), names.end());
    const std::string where = lost.pid != 0 ? fmt::format(" (pid {} on {})", lost.pid, lost.host) : std::string();
    std::string message = fmt::format("rank {}{} was lost: {}; {} task(s) lost{}{}", lost.rank, where, why,
                                      names.size(), names.empty() ? "" : ": ", count_task_names(names));
    lost_ranks_.push_back(fmt::format("rank {}{}", lost.rank, where));
    const bool survivors =
        std::any_of(ranks_.begin(), ranks_.end(), [](const rank_slot& r) { return r.alive && r.ready; });
    if (config_.rerun_lost_tasks && survivors && state_ != pool_state::opening) {
      std::vector<std::string> spent;
      std::vector<tracked_job> again;
      for (auto& [id, j] : held) {
        if (j.attempts < config_.max_attempts) {
          again.push_back(std::move(j));
        } else {
          spent.emplace_back(j.what->task_name);
        }
      }
      message += fmt::format("; {} re-run on the surviving ranks", again.size());
      if (!spent.empty()) {
        message += fmt::format("; {} failed, sent {} times already: {}", spent.size(), config_.max_attempts,
                               count_task_names(spent));
      }
      std::fprintf(stderr, "trident cluster: %s\n", message.c_str());
      const auto error = std::make_exception_ptr(rank_lost_error(message, lost.rank, spent));
      for (auto& [id, j] : held) {
        if (!j.what) continue;  // moved to `again`
        ++lost_count_;
        done.push_back(settlement{std::move(j.what), lost.rank, outcome::value, {}, error, false});
      }
      rerun_count_ += again.size();
      for (auto it = again.rbegin(); it != again.rend(); ++it) queue_.push_front(std::move(*it));
      return;
    }
    std::fprintf(stderr, "trident cluster: %s\n", message.c_str());
    lost_.emplace(message, lost.rank, names);
    const auto lost_error = std::make_exception_ptr(*lost_);
    for (auto& [id, j] : held) {
      ++lost_count_;
      done.push_back(settlement{std::move(j.what), lost.rank, outcome::value, {}, lost_error, false});
    }
    const auto not_run = std::make_exception_ptr(
        rank_lost_error("not finished: the cluster stopped because " + message, lost.rank, names));
    for (auto& r : ranks_) {
      for (auto& [id, j] : r.in_flight) {
        ++lost_count_;
        done.push_back(settlement{std::move(j.what), r.rank, outcome::value, {}, not_run, false});
      }
      r.in_flight.clear();
      r.sent_at.clear();
      if (r.alive) post(r, tag_exit, proc::encode(true));
      r.alive = false;  // leaving: no more heartbeats expected
    }
    for (auto& j : queue_) {
      ++lost_count_;
      done.push_back(settlement{std::move(j.what), 0, outcome::value, {}, not_run, false});
    }
    queue_.clear();
  }

  /// Publishes outcomes; runs continuations, so never under the lock.
  static void settle(std::vector<settlement>& done) {
    for (auto& s : done) {
      job& j = *s.what;
      if (s.cancel) {
        j.cancel("cluster_pool was shut down before the task finished");
      } else if (s.error) {
        j.fail(s.error);
      } else {
        switch (s.how) {
          case outcome::value:
            j.complete(s.bytes);
            break;
          case outcome::exception:
          case outcome::crashed:
          case outcome::timed_out:
            j.fail(describe_error(j, s));
            break;
        }
      }
    }
    done.clear();
  }

  static std::exception_ptr describe_error(const job& j, const settlement& s) {
    const std::string task(j.task_name);
    // The process pool's messages name the task already; then only the rank is added.
    const auto suffix = [&](const std::string& text) {
      return text.find("'" + task + "'") != std::string::npos ? fmt::format(" on rank {}", s.rank)
                                                              : fmt::format(" (task '{}' on rank {})", task, s.rank);
    };
    try {
      const failure_message f = read_failure(s.how, s.bytes);
      if (s.how == outcome::crashed) {
        return std::make_exception_ptr(
            proc::worker_crashed_error(f.text + suffix(f.text), f.pid, f.signal, f.exit_code));
      }
      if (s.how == outcome::timed_out) {
        return std::make_exception_ptr(proc::task_timeout_error(f.text + suffix(f.text), f.pid));
      }
      return std::make_exception_ptr(task_error(f.type, f.text, task, s.rank));
    } catch (...) {
      return std::current_exception();
    }
  }

  mutable std::mutex mutex_;
  std::condition_variable wake_;     ///< the communication thread sleeps on it
  std::condition_variable changed_;  ///< callers wait on it
  std::vector<rank_slot> ranks_;     ///< ranks 1..N-1
  std::deque<tracked_job> queue_;
  pool_state state_ = pool_state::closed;
  pool_config config_;
  bool config_sent_ = false;
  bool stop_sent_ = false;
  bool stop_terminate_ = false;
  bool exit_requested_ = false;
  bool exit_sent_ = false;
  bool exited_ = false;
  clock::time_point exit_deadline_;
  std::optional<rank_lost_error> lost_;  ///< set: the pool cannot go on
  std::vector<std::string> lost_ranks_;  ///< every rank lost, "rank R (pid P on H)"
  std::uint64_t next_id_ = 1;
  std::size_t next_rank_ = 0;
  std::size_t submitted_ = 0;
  std::size_t completed_ = 0;
  std::size_t lost_count_ = 0;
  std::size_t rerun_count_ = 0;
  std::size_t cancelled_ = 0;
  send_queue sends_;
  moving_average round_trip_;  ///< of a task, from sending it to its result
  std::thread thread_;
  std::thread watcher_;
};

driver_runtime* g_runtime = nullptr;

driver_runtime& runtime() {
  if (g_runtime == nullptr) throw std::logic_error("cluster: not the driver of an MPI job");
  return *g_runtime;
}

/// At exit (on_exit, which gives main's status): lets the ranks go, then finalises MPI. After
/// a lost rank, MPI_Finalize (collective) would wait for it; and `mpirun --enable-recovery`, the
/// mode in which the job outlives a rank, returns 0 whatever its processes exit with. So the
/// driver says the outcome itself: a line with the lost ranks, the re-run and lost tasks and the
/// exit status (also written to TRIDENT_CLUSTER_STATUS_FILE when set), then ends the job with
/// MPI_Abort and that status, which plain mpirun passes on (a plain exit would leave mpirun
/// waiting for the lost rank's host). Lost work makes the status 1; when every lost task was
/// re-run, it is the program's.
void at_driver_exit(int status, void*) {
  const auto report = g_runtime->exit();
  std::fflush(nullptr);
  if (!report.ranks_lost) {
    MPI_Comm_free(&g_comm);
    MPI_Finalize();
    return;
  }
  const int code = status != 0 ? status : report.work_lost ? 1 : 0;
  std::fprintf(stderr, "trident cluster: outcome: %s; exit status %d\n", report.summary.c_str(), code);
  if (const char* path = std::getenv("TRIDENT_CLUSTER_STATUS_FILE"); path != nullptr && *path != '\0') {
    if (FILE* f = std::fopen(path, "w")) {
      std::fprintf(f, "%d\n", code);
      std::fclose(f);
    }
  }
  std::fflush(nullptr);
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);  // not reached
}

}  // namespace

bool driver_active() noexcept { return g_runtime != nullptr; }
void driver_open(const pool_config& config) { runtime().open(config); }
void driver_enqueue(std::vector<std::unique_ptr<proc::lowlevel::job>> jobs) { runtime().enqueue(std::move(jobs)); }
void driver_close(bool terminate, bool cancel_pending) { runtime().close(terminate, cancel_pending); }
cluster_pool_statistics driver_statistics() { return runtime().statistics(); }
std::size_t driver_total_workers() { return runtime().total_workers(); }

void start_driver() {
  g_runtime = new driver_runtime();  // lives until exit
  ::on_exit(&at_driver_exit, nullptr);
}

}  // namespace trident::cluster::detail
