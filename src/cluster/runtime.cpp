// The cluster runtime: the guard (`worker_main`), a worker rank's service loop, and the driver's
// communication thread.
//
// Every rank talks over a duplicate of MPI_COMM_WORLD with MPI_ERRORS_RETURN, so a peer that
// died makes a call fail instead of aborting the job. No MPI call blocks: messages are found with
// MPI_Iprobe and sent with MPI_Isend (two large sends crossing each other would deadlock with a
// blocking MPI_Send), and an idle loop sleeps with backoff instead of spinning in MPI, which on a
// small machine would take a worker's core.
//
// Liveness: each side sends a heartbeat when it has sent nothing else for a heartbeat interval
// (a tenth of the peer timeout, TRIDENT_CLUSTER_TIMEOUT_MS, default 10 s). A worker rank that
// hears nothing from the driver for the timeout leaves (its local pool's workers die with it);
// the driver that hears nothing from a rank reports it lost with the tasks it held, fails every
// task, tells the other ranks to leave, and the program exits non-zero (see docs/cluster.md).

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

namespace trident::cluster {

namespace {

using namespace detail;  // the messages (messages.hpp)
using clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

int g_rank = 0;
int g_ranks = 1;
bool g_driver = false;
MPI_Comm g_comm = MPI_COMM_NULL;
std::chrono::milliseconds g_peer_timeout{10000};
std::chrono::milliseconds g_heartbeat{1000};
/// Set by the driver's SIGTERM handler: mpirun is ending the job (a rank died, or mpirun itself
/// was interrupted); it sends SIGKILL a second later.
volatile std::sig_atomic_t g_terminating = 0;

void on_sigterm(int) { g_terminating = 1; }

/// Environment variables of the launcher that a rank's worker processes must not inherit.
const std::vector<std::string>& launcher_environment() {
  static const std::vector<std::string> prefixes{"OMPI_", "PMIX_", "OPAL_", "PRTE_"};
  return prefixes;
}

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "?";
  return name;
}

/// Idle waiting, without spinning in MPI: a few yields right after activity (a reply is often
/// microseconds away), then sleeps. How long a sleep may be is the caller's `cap`: short while a
/// message is due soon, long while nothing is expected. Each sleep doubles, from 20 µs to `cap`.
class backoff {
 public:
  void reset() noexcept { idle_ = 0; }
  /// How long to wait now; zero means yield.
  std::chrono::microseconds next(std::chrono::microseconds cap) noexcept {
    ++idle_;
    if (idle_ <= 8) return 0us;
    const auto pause = std::chrono::microseconds(20 << std::min(idle_ - 9, 10));
    return std::min(pause, cap);
  }

 private:
  int idle_ = 0;
};

/// A running average of how long something takes (a task's round trip, as the driver sees it).
class moving_average {
 public:
  void add(std::chrono::nanoseconds sample) noexcept {
    value_ = value_.count() == 0 ? sample : (value_ * 7 + sample) / 8;
  }
  [[nodiscard]] std::chrono::nanoseconds value() const noexcept { return value_; }

 private:
  std::chrono::nanoseconds value_{0};
};

/// mpirun binds each rank to a core by default (with 2 ranks or fewer), and what a rank starts
/// inherits the binding. A rank's executor is meant to use the whole machine (one rank per
/// machine), and the driver is the user's program: both may run on every online CPU again.
/// Where a cpuset forbids that, the binding stays.
void use_every_core() {
  cpu_set_t all;
  CPU_ZERO(&all);
  const long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  for (long c = 0; c < cpus && c < CPU_SETSIZE; ++c) CPU_SET(static_cast<int>(c), &all);
  (void)::sched_setaffinity(0, sizeof all, &all);
}

/// Sends in progress: the buffer must live until MPI is done with it.
class send_queue {
 public:
  /// Starts sending `bytes` to `dest`; false if MPI refused at once (the peer is gone).
  bool post(int dest, int tag, std::string bytes) {
    auto s = std::make_unique<pending>();
    s->bytes = std::move(bytes);
    const int rc = MPI_Isend(s->bytes.data(), static_cast<int>(s->bytes.size()), MPI_BYTE, dest, tag, g_comm, &s->request);
    if (rc != MPI_SUCCESS) return false;
    // Open MPI moves a message on only inside MPI calls: test it at once, or it would wait for
    // the end of this loop's idle sleep.
    int done = 0;
    if (MPI_Test(&s->request, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS || done != 0) return true;
    sends_.push_back(std::move(s));
    return true;
  }
  /// Lets MPI progress and frees what it finished.
  void progress() {
    std::erase_if(sends_, [](std::unique_ptr<pending>& s) {
      int done = 0;
      if (MPI_Test(&s->request, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS) return true;  // peer gone
      return done != 0;
    });
  }
  [[nodiscard]] bool empty() const noexcept { return sends_.empty(); }
  /// Gives up on sends that cannot finish (their peer is gone); the requests are left to MPI.
  void abandon() {
    for (auto& s : sends_) (void)s.release();  // MPI may still read the buffer: never free it
    sends_.clear();
  }

 private:
  struct pending {
    MPI_Request request = MPI_REQUEST_NULL;
    std::string bytes;
  };
  std::vector<std::unique_ptr<pending>> sends_;
};

/// A message that arrived, if any (from `source`, MPI_ANY_SOURCE for any).
struct message {
  int source = 0;
  int tag = 0;
  std::string bytes;
};

std::optional<message> try_receive(int source) {
  int flag = 0;
  MPI_Status status;
  if (MPI_Iprobe(source, MPI_ANY_TAG, g_comm, &flag, &status) != MPI_SUCCESS || flag == 0) return std::nullopt;
  int count = 0;
  MPI_Get_count(&status, MPI_BYTE, &count);
  message m;
  m.source = status.MPI_SOURCE;
  m.tag = status.MPI_TAG;
  m.bytes.resize(static_cast<std::size_t>(count));
  if (MPI_Recv(m.bytes.data(), count, MPI_BYTE, m.source, m.tag, g_comm, MPI_STATUS_IGNORE) != MPI_SUCCESS) {
    return std::nullopt;
  }
  return m;
}

std::string encode_outcome_exception(std::exception_ptr error) {
  auto [type, text] = proc::lowlevel::describe_exception(std::move(error));
  return proc::encode(std::make_tuple(type, text));
}

// =============================================================================================
// A worker rank: serves the driver's tasks on a local process pool or thread pool.

class rank_server {
 public:
  int run() {
    last_heard_ = clock::now();
    last_sent_ = clock::now();
    backoff wait;
    for (;;) {
      bool active = false;
      for (int i = 0; i < 64; ++i) {
        auto m = try_receive(0);
        if (!m) break;
        active = true;
        last_heard_ = clock::now();
        if (auto rc = handle(*m)) return *rc;
      }
      active |= send_finished();
      sends_.progress();
      const auto now = clock::now();
      if (now - last_sent_ >= g_heartbeat) post(tag_heartbeat, {});
      if (now - last_heard_ >= g_peer_timeout) {
        std::fprintf(stderr,
                     "trident cluster: rank %d: no word from the driver (rank 0) for %.1f s; leaving (its tasks are lost)\n",
                     g_rank, std::chrono::duration<double>(now - last_heard_).count());
        leave_now();
      }
      if (active) {
        wait.reset();
        last_activity_ = now;
        continue;
      }
      // Idle with tasks running: their completions wake this loop, and the driver refills this
      // rank as each result reaches it, so the refill must be seen within about a task's time
      // (a quarter of the measured one, 20 µs to 1 ms). Idle with none running: the next task
      // is due soon for a while after the last message (a caller waiting on one result at a
      // time), then backs off.
      const auto idle_for = now - last_activity_;
      std::chrono::microseconds cap = idle_for < 20ms ? 50us : idle_for < 200ms ? 250us : 1000us;
      if (running_ > 0) {
        cap = std::clamp(std::chrono::duration_cast<std::chrono::microseconds>(task_time_.value() / 4), 20us, 1000us);
      }
      const auto pause = wait.next(cap);
      std::unique_lock lock(outbox_.mutex);
      if (pause == 0us) {
        lock.unlock();
        std::this_thread::yield();
      } else {
        outbox_.wake.wait_for(lock, pause, [this] { return !outbox_.items.empty() || outbox_.started; });
      }
    }
  }

 private:
  struct finished {
    std::uint64_t id = 0;
    outcome how = outcome::value;
    std::string bytes;
  };
  struct outbox {
    std::mutex mutex;
    std::condition_variable wake;
    std::deque<finished> items;
    bool started = false;  ///< the executor's start-up ended (see start_error)
    std::string start_error;

    void push(std::uint64_t id, future<std::string> f) {
      finished item;
      item.id = id;
      try {
        item.bytes = f.get();  // ready: fire runs after the result is published
        item.how = outcome::value;
      } catch (const proc::worker_crashed_error& e) {
        item.how = outcome::crashed;
        item.bytes = proc::encode(std::make_tuple(std::string(e.what()), e.pid(), e.signal(), e.exit_code()));
      } catch (const proc::task_timeout_error& e) {
        item.how = outcome::timed_out;
        item.bytes = proc::encode(std::make_tuple(std::string(e.what()), e.pid()));
      } catch (...) {
        item.how = outcome::exception;
        item.bytes = encode_outcome_exception(std::current_exception());
      }
      std::lock_guard lock(mutex);
      items.push_back(std::move(item));
      wake.notify_one();
    }
    void push_outcome(std::uint64_t id, outcome how, std::string bytes) {
      std::lock_guard lock(mutex);
      items.push_back(finished{id, how, std::move(bytes)});
      wake.notify_one();
    }
  };

  /// Completes a task of the local process pool: moves its outcome to the outbox.
  struct pool_done final : continuation {
    pool_done(outbox& box, std::uint64_t id, future<std::string> f) : box(box), id(id), result(std::move(f)) {
      fire = &on_fire;
    }
    static void on_fire(continuation* c) noexcept {
      auto* self = static_cast<pool_done*>(c);
      self->box.push(self->id, std::move(self->result));
      delete self;
    }
    outbox& box;
    std::uint64_t id;
    future<std::string> result;
  };

  void post(int tag, std::string bytes) {
    sends_.post(0, tag, std::move(bytes));
    last_sent_ = clock::now();
  }

  std::optional<int> handle(message& m) {
    switch (m.tag) {
      case tag_config: {
        auto [executor, workers, timeout_ms] = proc::decode<std::tuple<std::uint8_t, std::uint64_t, std::uint32_t>>(m.bytes);
        start_executor(static_cast<rank_executor>(executor), workers, std::chrono::milliseconds(timeout_ms));
        return std::nullopt;
      }
      case tag_task: {
        task_header h{};
        std::string_view payload;
        if (!read_header(m.bytes, h, payload)) return std::nullopt;
        run_task(h, std::string(payload));
        return std::nullopt;
      }
      case tag_stop: {
        const bool terminate = proc::decode<bool>(m.bytes);
        stop_executor(terminate);
        post(tag_stopped, {});
        return std::nullopt;
      }
      case tag_exit: {
        const bool abort = proc::decode<bool>(m.bytes);
        if (abort) leave_now();
        stop_executor(false);
        const auto deadline = clock::now() + g_peer_timeout;
        while (!sends_.empty() && clock::now() < deadline) {
          sends_.progress();
          std::this_thread::sleep_for(100us);
        }
        MPI_Comm_free(&g_comm);
        MPI_Finalize();
        return 0;
      }
      default:
        return std::nullopt;  // heartbeats: last_heard_ is all they do
    }
  }

  /// Starts the executor on a helper thread, so that heartbeats go on while workers start.
  void start_executor(rank_executor executor, std::uint64_t workers, std::chrono::milliseconds timeout) {
    if (starter_.joinable()) starter_.join();
    {
      std::lock_guard lock(outbox_.mutex);
      outbox_.started = false;
      outbox_.start_error.clear();
    }
    starting_ = true;
    starter_ = std::thread([this, executor, workers, timeout] {
      std::string error;
      try {
        if (executor == rank_executor::thread_pool) {
          threads_ = std::make_unique<thread_pool>(workers == 0 ? thread_pool_options::default_worker_count() : workers);
        } else {
          proc::process_pool_options options;
          if (workers != 0) options.workers = workers;
          options.task_timeout = timeout;
          options.withheld_environment = launcher_environment();
          processes_ = std::make_unique<proc::process_pool>(std::move(options));
        }
      } catch (const std::exception& e) {
        error = e.what();
      }
      std::lock_guard lock(outbox_.mutex);
      outbox_.started = true;
      outbox_.start_error = std::move(error);
      outbox_.wake.notify_one();
    });
  }

  void stop_executor(bool terminate) {
    if (starter_.joinable()) starter_.join();
    starting_ = false;
    if (processes_) {
      if (terminate) {
        processes_->terminate();
      } else {
        processes_->shutdown();
      }
      processes_.reset();
    }
    if (threads_) {
      threads_->shutdown(terminate ? shutdown_mode::cancel_pending : shutdown_mode::wait);
      threads_.reset();
    }
  }

  /// Leaves at once, without MPI_Finalize (a peer is gone, or the driver says so): the local
  /// pool's workers are killed first, so nothing outlives the rank.
  [[noreturn]] void leave_now() {
    if (processes_) processes_->terminate();
    std::fflush(nullptr);
    std::_Exit(1);
  }

  void run_task(const task_header& h, std::string payload) {
    ++running_;
    started_at_.emplace(h.id, clock::now());
    const auto kind = static_cast<proc::lowlevel::call_kind>(h.kind);
    if (processes_) {
      future<std::string> f;
      try {
        f = proc::lowlevel::submit_encoded(*processes_, kind, std::move(payload), std::chrono::milliseconds(h.timeout_ms));
      } catch (...) {
        outbox_.push_outcome(h.id, outcome::exception, encode_outcome_exception(std::current_exception()));
        return;
      }
      auto* node = new pool_done(outbox_, h.id, std::move(f));
      if (!add_continuation(node->result, *node)) pool_done::on_fire(node);
    } else if (threads_) {
      threads_->post([box = &outbox_, id = h.id, kind, payload = std::move(payload)] {
        try {
          box->push_outcome(id, outcome::value, proc::lowlevel::run_encoded(kind, payload));
        } catch (...) {
          box->push_outcome(id, outcome::exception, encode_outcome_exception(std::current_exception()));
        }
      });
    } else {
      outbox_.push_outcome(h.id, outcome::exception,
                           proc::encode(std::make_tuple(std::string("trident::cluster::cluster_start_error"),
                                                        std::string("the rank has no executor running"))));
    }
  }

  /// Sends what finished (and the executor's start-up answer); true if anything was sent.
  bool send_finished() {
    std::deque<finished> items;
    std::optional<std::string> started;
    {
      std::lock_guard lock(outbox_.mutex);
      items.swap(outbox_.items);
      if (outbox_.started && starting_) {
        started = outbox_.start_error;
        starting_ = false;
        outbox_.started = false;
      }
    }
    if (started) {
      if (starter_.joinable()) starter_.join();
      const std::uint64_t workers = processes_ ? processes_->size() : threads_ ? threads_->size() : 0;
      post(tag_ready, proc::encode(std::make_tuple(started->empty(), workers, host_name(), static_cast<int>(::getpid()),
                                                   *started)));
    }
    for (auto& f : items) {
      if (running_ > 0) --running_;
      if (auto it = started_at_.find(f.id); it != started_at_.end()) {
        task_time_.add(clock::now() - it->second);
        started_at_.erase(it);
      }
      result_header h{};
      h.id = f.id;
      h.outcome = static_cast<std::uint8_t>(f.how);
      post(tag_result, with_header(h, f.bytes));
    }
    return started.has_value() || !items.empty();
  }

  outbox outbox_;
  send_queue sends_;
  clock::time_point last_heard_;
  clock::time_point last_sent_;
  clock::time_point last_activity_ = clock::now();
  std::size_t running_ = 0;  ///< Tasks handed to the executor, outcome not sent yet.
  std::unordered_map<std::uint64_t, clock::time_point> started_at_;
  moving_average task_time_;  ///< from receiving a task to sending its outcome
  std::thread starter_;
  bool starting_ = false;
  std::unique_ptr<proc::process_pool> processes_;
  std::unique_ptr<thread_pool> threads_;
};

}  // namespace

namespace detail {

namespace {

// =============================================================================================
// The driver: rank 0's communication thread and the state it shares with pools.

/// A task as pools hand it to the driver: the process layer's promise-backed job.
using proc::lowlevel::job;

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
  std::unordered_map<std::uint64_t, std::unique_ptr<job>> in_flight;
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
      return lost_ || exited_ ||
             std::all_of(ranks_.begin(), ranks_.end(), [](const rank_slot& r) { return r.ready || !r.start_error.empty(); });
    });
    std::string problem;
    if (lost_) {
      problem = lost_->what();
    } else {
      for (auto& r : ranks_) {
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
    for (auto& j : jobs) queue_.push_back(std::move(j));
    wake_.notify_one();
  }

  void close(bool terminate, bool cancel_pending) {
    std::vector<settlement> dropped;
    std::unique_lock lock(mutex_);
    if (state_ == pool_state::closed) return;
    if (terminate || cancel_pending) {
      for (auto& j : queue_) {
        ++cancelled_;
        dropped.push_back(settlement{std::move(j), 0, outcome::value, {}, nullptr, true});
      }
      queue_.clear();
    }
    if (terminate) {
      for (auto& r : ranks_) {
        for (auto& [id, j] : r.in_flight) {
          ++cancelled_;
          dropped.push_back(settlement{std::move(j), r.rank, outcome::value, {}, nullptr, true});
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

  /// At program exit: lets every rank go and ends the thread. Returns whether a rank was lost.
  bool exit() {
    std::vector<settlement> dropped;
    {
      std::unique_lock lock(mutex_);
      exit_requested_ = true;
      wake_.notify_one();
      changed_.wait(lock, [this] { return exited_; });
      for (auto& j : queue_) dropped.push_back(settlement{std::move(j), 0, outcome::value, {}, nullptr, true});
      queue_.clear();
      for (auto& r : ranks_) {
        for (auto& [id, j] : r.in_flight) dropped.push_back(settlement{std::move(j), r.rank, outcome::value, {}, nullptr, true});
        r.in_flight.clear();
        r.sent_at.clear();
      }
      state_ = pool_state::closed;
    }
    thread_.join();
    watcher_.join();
    settle(dropped);
    return lost_.has_value();
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
            lose(r, fmt::format("no word from it for {:.1f} s", std::chrono::duration<double>(now - r.last_heard).count()),
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
        auto [ok, workers, host, pid, error] =
            proc::decode<std::tuple<bool, std::uint64_t, std::string, int, std::string>>(m.bytes);
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
        r.items += it->second->calls;
        if (auto sent = r.sent_at.find(h.id); sent != r.sent_at.end()) {
          round_trip_.add(clock::now() - sent->second);
          r.sent_at.erase(sent);
        }
        ++completed_;
        done.push_back(settlement{std::move(it->second), r.rank, static_cast<outcome>(h.outcome), std::string(body), nullptr, false});
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
      std::unique_ptr<job> j = std::move(queue_.front());
      queue_.pop_front();
      any = true;
      if (!j->claim()) {  // cancelled through its future while queued
        ++cancelled_;
        done.push_back(settlement{std::move(j), 0, outcome::value, {}, nullptr, true});
        continue;
      }
      task_header h{};
      h.id = next_id_++;
      const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(j->timeout);
      h.timeout_ms = static_cast<std::uint32_t>(timeout.count());
      h.kind = static_cast<std::uint8_t>(j->kind);
      post(*best, tag_task, with_header(h, j->payload));
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
        if (r.alive) post(r, tag_exit, proc::encode(lost_.has_value()));
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
      for (auto& [id, j] : r.in_flight) names.emplace_back(j->task_name);
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

  /// Rank `lost` is gone: reports it with the tasks it held, fails those and every other task,
  /// and tells the surviving ranks to leave (the job cannot go on without it).
  void lose(rank_slot& lost, const std::string& why, std::vector<settlement>& done) {
    lost.alive = false;
    std::vector<std::string> names;
    for (auto& [id, j] : lost.in_flight) names.emplace_back(j->task_name);
    std::sort(names.begin(), names.end());
    const std::string list = count_task_names(names);
    const std::string where = lost.pid != 0 ? fmt::format(" (pid {} on {})", lost.pid, lost.host) : std::string();
    const std::string message =
        fmt::format("rank {}{} was lost: {}; {} task(s) lost{}{}", lost.rank, where, why, names.size(),
                    names.empty() ? "" : ": ", list);
    std::fprintf(stderr, "trident cluster: %s\n", message.c_str());
    lost_.emplace(message, lost.rank, names);
    const auto lost_error = std::make_exception_ptr(*lost_);
    for (auto& [id, j] : lost.in_flight) {
      ++lost_count_;
      done.push_back(settlement{std::move(j), lost.rank, outcome::value, {}, lost_error, false});
    }
    lost.in_flight.clear();
    lost.sent_at.clear();
    const auto not_run = std::make_exception_ptr(
        rank_lost_error("not finished: the cluster stopped because " + message, lost.rank, names));
    for (auto& r : ranks_) {
      for (auto& [id, j] : r.in_flight) {
        ++lost_count_;
        done.push_back(settlement{std::move(j), r.rank, outcome::value, {}, not_run, false});
      }
      r.in_flight.clear();
      r.sent_at.clear();
      if (r.alive) post(r, tag_exit, proc::encode(true));
      r.alive = false;  // leaving: no more heartbeats expected
    }
    for (auto& j : queue_) {
      ++lost_count_;
      done.push_back(settlement{std::move(j), 0, outcome::value, {}, not_run, false});
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
            j.fail(describe_error(j, s));
            break;
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
      if (s.how == outcome::crashed) {
        auto [text, pid, signal, code] = proc::decode<std::tuple<std::string, int, int, int>>(s.bytes);
        return std::make_exception_ptr(proc::worker_crashed_error(text + suffix(text), pid, signal, code));
      }
      if (s.how == outcome::timed_out) {
        auto [text, pid] = proc::decode<std::tuple<std::string, int>>(s.bytes);
        return std::make_exception_ptr(proc::task_timeout_error(text + suffix(text), pid));
      }
      auto [type, text] = proc::decode<std::tuple<std::string, std::string>>(s.bytes);
      return std::make_exception_ptr(task_error(type, text, task, s.rank));
    } catch (...) {
      return std::current_exception();
    }
  }

  mutable std::mutex mutex_;
  std::condition_variable wake_;     ///< the communication thread sleeps on it
  std::condition_variable changed_;  ///< callers wait on it
  std::vector<rank_slot> ranks_;     ///< ranks 1..N-1
  std::deque<std::unique_ptr<job>> queue_;
  pool_state state_ = pool_state::closed;
  pool_config config_;
  bool config_sent_ = false;
  bool stop_sent_ = false;
  bool stop_terminate_ = false;
  bool exit_requested_ = false;
  bool exit_sent_ = false;
  bool exited_ = false;
  clock::time_point exit_deadline_;
  std::optional<rank_lost_error> lost_;
  std::uint64_t next_id_ = 1;
  std::size_t next_rank_ = 0;
  std::size_t submitted_ = 0;
  std::size_t completed_ = 0;
  std::size_t lost_count_ = 0;
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

/// atexit: lets the ranks go, then finalises MPI. After a lost rank, MPI_Finalize (collective)
/// would wait for the dead rank, and `mpirun --enable-recovery` returns 0 whatever its processes
/// exit with: MPI_Abort ends the job with status 1 instead.
void at_driver_exit() {
  const bool lost = g_runtime->exit();
  std::fflush(nullptr);
  if (lost) {
    MPI_Abort(MPI_COMM_WORLD, 1);
    std::_Exit(1);  // not reached
  }
  MPI_Comm_free(&g_comm);
  MPI_Finalize();
}

}  // namespace

bool driver_active() noexcept { return g_runtime != nullptr; }
void driver_open(const pool_config& config) { runtime().open(config); }
void driver_enqueue(std::vector<std::unique_ptr<proc::lowlevel::job>> jobs) { runtime().enqueue(std::move(jobs)); }
void driver_close(bool terminate, bool cancel_pending) { runtime().close(terminate, cancel_pending); }
cluster_pool_statistics driver_statistics() { return runtime().statistics(); }
std::size_t driver_total_workers() { return runtime().total_workers(); }

}  // namespace detail

std::optional<int> worker_main(int argc, char** argv) {
  if (auto rc = proc::worker_main(argc, argv)) return rc;
  const char* size_text = std::getenv("OMPI_COMM_WORLD_SIZE");
  if (size_text == nullptr || std::atoi(size_text) <= 1) return std::nullopt;  // alone (or one rank)
  // A process that inherited a rank's environment (started by the program, not by mpirun) is
  // not a rank: the variable names the process that is.
  const std::string self = std::to_string(::getpid());
  if (const char* owner = std::getenv("TRIDENT_CLUSTER_RANK_PID"); owner != nullptr && self != owner) {
    return std::nullopt;
  }
  ::setenv("TRIDENT_CLUSTER_RANK_PID", self.c_str(), 1);
  if (const char* timeout = std::getenv("TRIDENT_CLUSTER_TIMEOUT_MS"); timeout != nullptr && std::atol(timeout) > 0) {
    g_peer_timeout = std::chrono::milliseconds(std::atol(timeout));
  }
  g_heartbeat = std::clamp<std::chrono::milliseconds>(g_peer_timeout / 10, 20ms, 1000ms);

  int provided = 0;
  if (MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS) {
    std::fprintf(stderr, "trident cluster: MPI_Init_thread failed\n");
    return 1;
  }
  if (provided < MPI_THREAD_SERIALIZED) {
    std::fprintf(stderr, "trident cluster: this MPI library does not allow calls from more than one thread\n");
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  use_every_core();  // before any thread of ours starts: they inherit the mask
  MPI_Comm_dup(MPI_COMM_WORLD, &g_comm);
  MPI_Comm_set_errhandler(g_comm, MPI_ERRORS_RETURN);
  MPI_Comm_rank(g_comm, &g_rank);
  MPI_Comm_size(g_comm, &g_ranks);
  if (g_rank != 0) {
    rank_server server;
    return server.run();
  }
  g_driver = true;
  struct sigaction action {};
  action.sa_handler = &on_sigterm;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGTERM, &action, nullptr);
  detail::g_runtime = new detail::driver_runtime();  // lives until exit
  std::atexit(&detail::at_driver_exit);
  return std::nullopt;
}

bool is_driver() noexcept { return g_driver; }
int rank() noexcept { return g_rank; }
int ranks() noexcept { return g_ranks; }

}  // namespace trident::cluster
