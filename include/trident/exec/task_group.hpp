#pragma once
/// @file
/// `task_group`: a set of fire-and-forget tasks on a pool that is waited for as a whole, with
/// the first exception kept and the rest of the group skipped after a failure.

#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <optional>
#include <type_traits>
#include <thread>
#include <utility>

#include "trident/core/errors.hpp"
#include "trident/exec/detail/shared_state.hpp"
#include "trident/exec/detail/task_node.hpp"
#include "trident/exec/thread_pool.hpp"

namespace trident::exec {

/// Runs tasks on a `thread_pool` and waits for all of them (oneTBB's `task_group`, with
/// structured-concurrency rules).
///
/// - `run(fn)` schedules `fn` as part of the group; tasks of the group may `run` more tasks.
/// - `wait()` returns when every task of the group has finished, then rethrows the first
///   exception a task threw. On a pool worker it runs queued tasks while it waits.
/// - After a task throws, tasks of the group that have not started yet are skipped.
/// - The destructor waits (never leaves tasks running that refer to the scope), but swallows the
///   exception; call `wait()` to see it.
///
/// @par Thread safety
/// `run` may be called from any thread, including tasks of the group. `wait` must not race with
/// `run` calls from outside the group's own tasks: decide what to run, then wait. `wait` and the
/// destructor are called by the thread that created the group.
///
/// @code
///   trident::exec::task_group g(pool);
///   for (auto& part : parts) g.run([&part] { process(part); });
///   g.wait();
/// @endcode
class task_group {
 public:
  explicit task_group(thread_pool& pool) : pool_(pool), owner_(std::this_thread::get_id()) {}
  task_group(const task_group&) = delete;
  task_group& operator=(const task_group&) = delete;
  ~task_group() { (void)join(); }

  template <class F>
  void run(F&& fn) {
    reserve_one();
    exec::detail::task_node* node = nullptr;
    try {
      node = new group_task<std::decay_t<F>>(*this, std::forward<F>(fn));
    } catch (...) {
      finish_one();  // give back the count reserved for it
      throw;
    }
    pool_.schedule(node);  // after shutdown: discards the node (which finishes it) and throws
  }

  /// Waits for every task, then rethrows the first exception (once). The group can be reused.
  void wait() {
    if (auto e = join()) std::rethrow_exception(e);
  }

  /// Tasks scheduled and not finished (approximate while tasks run; call from the creating
  /// thread for an exact figure after `wait`).
  [[nodiscard]] std::size_t pending() const noexcept {
    const auto n = pending_.load(std::memory_order_relaxed) - reserved_;
    return n > 0 ? n - 1 : 0;
  }

 private:
  // Completion protocol. `pending_` counts unfinished tasks plus one token held by the group.
  //   1. `join` drops the token. If that made the count zero, every task had finished: done.
  //   2. Otherwise the task whose decrement reaches zero (the finisher) finishes `done_`, then
  //      sets `finisher_left_`; `join` waits on `done_`, then for `finisher_left_`, because the
  //      finisher may still be inside `finish` (waking this thread) when the wait returns.
  //   3. `join` re-arms `done_` and takes the token back: the group is ready for more `run`s.
  //
  // Reservations: the thread that created the group (typically one loop calling `run` many
  // times) takes counts in blocks of `reservation_block` with one atomic add, then spends them
  // one per `run` without touching the shared counter, which the workers' decrements keep
  // busy. Unspent counts go back with the token in `join`. Other threads add one at a time.
  static constexpr std::size_t reservation_block = 64;

  void reserve_one() {
    // While the creating thread is inside join() (running tasks of this group as a pool worker),
    // an unspent reservation would never be handed back: count one at a time then.
    if (std::this_thread::get_id() != owner_ || joining_) {  // joining_: creating thread only
      pending_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (reserved_ == 0) {
      pending_.fetch_add(reservation_block, std::memory_order_relaxed);
      reserved_ = reservation_block;
    }
    --reserved_;
  }

  std::exception_ptr join() {
    joining_ = true;
    struct reset_joining {
      bool& flag;
      ~reset_joining() { flag = false; }
    } reset{joining_};
    const std::size_t returned = 1 + std::exchange(reserved_, 0);
    if (pending_.fetch_sub(returned, std::memory_order_acq_rel) != returned) {
      exec::detail::wait_for_state(done_);
      while (!finisher_left_.load(std::memory_order_acquire)) std::this_thread::yield();
      finisher_left_.store(false, std::memory_order_relaxed);
      done_.rearm();
    }
    pending_.store(1, std::memory_order_relaxed);
    if (!failed_.load(std::memory_order_acquire)) return nullptr;
    failed_.store(false, std::memory_order_relaxed);
    std::lock_guard lock(error_mutex_);
    return std::exchange(error_, nullptr);
  }

  void finish_one() noexcept {
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      done_.finish(exec::detail::status::value);
      finisher_left_.store(true, std::memory_order_release);
    }
  }

  void record_failure(std::exception_ptr e) noexcept {
    std::lock_guard lock(error_mutex_);
    if (!error_) error_ = std::move(e);
    failed_.store(true, std::memory_order_release);
  }

  /// The group's queued work: runs `fn` unless the group already failed, and finishes its count
  /// either way; if the pool drops it (immediate shutdown) the group fails with cancelled_error
  /// instead of waiting forever. `fn` (and what it captured) is destroyed before the count drops,
  /// so nothing of the task outlives `wait()`.
  template <class F>
  class group_task final : public exec::detail::task_node {
   public:
    template <class G>
    group_task(task_group& group, G&& fn) : group_(group), fn_(std::forward<G>(fn)) {}
    void run() noexcept override {
      if (!group_.failed_.load(std::memory_order_relaxed)) {
        try {
          (*fn_)();
        } catch (...) {
          group_.record_failure(std::current_exception());
        }
      }
      finish();
    }
    void discard() noexcept override {
      group_.record_failure(std::make_exception_ptr(cancelled_error("task_group task dropped by pool shutdown")));
      finish();
    }

   private:
    void finish() noexcept {
      fn_.reset();
      task_group& group = group_;
      delete this;
      group.finish_one();
    }
    task_group& group_;
    std::optional<F> fn_;
  };

  /// A completion signal owned by the group (never freed through its reference count).
  class signal final : public exec::detail::shared_state<void> {
   public:
    signal() noexcept : exec::detail::shared_state<void>(1) {}

   private:
    void destroy() noexcept override {}
  };

  thread_pool& pool_;
  const std::thread::id owner_;
  std::size_t reserved_ = 0;  // creating thread only
  bool joining_ = false;      // creating thread only
  std::atomic<std::size_t> pending_{1};
  std::atomic<bool> failed_{false};
  std::atomic<bool> finisher_left_{false};
  std::mutex error_mutex_;
  std::exception_ptr error_;
  signal done_;
};

}  // namespace trident::exec

// This header's names under their 0.1 spelling, directly in `trident::`: deprecated until 0.3.
#define TRIDENT_EXEC_TASK_GROUP_HPP
#include "trident/exec/deprecated_names.hpp"
