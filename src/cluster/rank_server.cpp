// A worker rank of the cluster runtime: serves the driver's tasks on a local process pool or
// thread pool, answers heartbeats, and leaves when the driver says stop or is silent for the
// peer timeout (its local pool's workers die with it). One thread, the rank's main thread, does
// every MPI call.

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
namespace {

using namespace std::chrono_literals;

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
        std::fprintf(
            stderr,
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

    void push(std::uint64_t id, exec::future<std::string> f) {
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
  struct pool_done final : exec::continuation {
    pool_done(outbox& box, std::uint64_t id, exec::future<std::string> f) : box(box), id(id), result(std::move(f)) {
      fire = &on_fire;
    }
    static void on_fire(exec::continuation* c) noexcept {
      auto* self = static_cast<pool_done*>(c);
      self->box.push(self->id, std::move(self->result));
      delete self;
    }
    outbox& box;
    std::uint64_t id;
    exec::future<std::string> result;
  };

  void post(int tag, std::string bytes) {
    sends_.post(0, tag, std::move(bytes));
    last_sent_ = clock::now();
  }

  std::optional<int> handle(message& m) {
    switch (m.tag) {
      case tag_config: {
        auto [executor, workers, timeout_ms] =
            proc::decode<std::tuple<std::uint8_t, std::uint64_t, std::uint32_t>>(m.bytes);
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
          threads_ = std::make_unique<exec::thread_pool>(
              workers == 0 ? exec::thread_pool_options::default_worker_count() : workers);
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
      exec::future<std::string> f;
      try {
        f = proc::lowlevel::submit_encoded(*processes_, kind, std::move(payload),
                                           std::chrono::milliseconds(h.timeout_ms));
      } catch (...) {
        outbox_.push_outcome(h.id, outcome::exception, encode_outcome_exception(std::current_exception()));
        return;
      }
      auto* node = new pool_done(outbox_, h.id, std::move(f));
      if (!exec::add_continuation(node->result, *node)) pool_done::on_fire(node);
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
  std::unique_ptr<exec::thread_pool> threads_;
};

}  // namespace

int serve_as_rank() {
  rank_server server;
  return server.run();
}

}  // namespace trident::cluster::detail
