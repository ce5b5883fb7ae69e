#include "trident/exec/thread_pool.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <ostream>
#include <random>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <typeinfo>

#include <fmt/format.h>

#include "trident/core/demangle.hpp"
#include "trident/exec/detail/work_stealing_deque.hpp"
#include "trident/trace/recorder.hpp"

// Worker life cycle
//   1. A worker looks for work: its own deque (nested work, LIFO), its inbox (outside work,
//      FIFO), then the injection stack (all of it at once, moved into its inbox oldest first,
//      where others can steal), then one steal attempt per other worker (inbox, then deque).
//   2. Finding none, it spins briefly, then yields the CPU a few times (work often arrives within
//      microseconds, and on a machine with fewer cores than threads a yield lets the submitter
//      run), then parks:
//      a. under idle_mutex it sets its wake word to `parked` and joins the idle list (idle_count
//         rises, a seq_cst read-modify-write);
//      b. it checks every queue once more and, finding work, leaves the list and goes to 1;
//      c. it futex-waits while its wake word is `parked`.
//   3. A thread outside the pool that pushes onto an *empty* injection stack issues a seq_cst
//      fence and reads idle_count; if it is non-zero it pops one idle worker and wakes it. The
//      fence on one side and the RMW on the other form a Dekker pair: either the parker sees the
//      work in 2b, or the publisher sees the parker. Pushes onto a non-empty stack skip all this:
//      whoever made it non-empty already guaranteed that a worker will come and take it all.
//   4. A worker pushing nested work on its own deque does the same check as in 3 on every push.
//      (A cheaper unfenced check would miss a peer that is just going to sleep; the pushing task
//      may then block on something that is not a future — a channel, a latch — and wait forever
//      for the work that sleeps in its own deque.)
//   5. Waking a worker writes `notified` into its wake word and makes the futex system call only
//      if the word said `parked`.
//
// Waiting inside the pool (blocking_context)
//   A worker waiting on a shared state runs tasks as in 1. When there are none it registers a
//   continuation on the state that wakes this worker, then parks as in 2 (so new work also wakes
//   it), and loops until the state is done.
//
// Shutdown
//   1. The injection stack is closed (a tag bit in its head): later pushes from outside throw.
//   2. cancel_pending: every queued task is discarded (its future becomes cancelled).
//   3. stopping = true, every parked worker is woken.
//   4. A worker whose search finds nothing while stopping is set exits; with the queues drained
//      and no task running, nothing can add work. Then all threads are joined.

namespace trident::exec {
namespace detail {

bool futex_wait_until(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                      std::chrono::steady_clock::time_point deadline) noexcept {
  const auto now = std::chrono::steady_clock::now();
  if (now >= deadline) return false;
  const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - now).count();
  timespec ts{static_cast<time_t>(left / 1'000'000'000), static_cast<long>(left % 1'000'000'000)};
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected, &ts, nullptr, 0);
  return std::chrono::steady_clock::now() < deadline;
}

void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected) noexcept {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
}

void futex_wake(std::atomic<std::uint32_t>& word, int count) noexcept {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, count, nullptr, nullptr, 0);
}

blocking_context*& current_blocking_context() noexcept {
  thread_local blocking_context* context = nullptr;
  return context;
}

void report_unhandled_exception(std::exception_ptr e) noexcept {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    std::string type;
    try {
      type = demangle(typeid(ex));
    } catch (const std::bad_alloc&) {  // no memory for the readable name: the mangled one will do
    }
    std::fprintf(stderr, "trident: exception escaped a posted task: %s: %s\n",
                 type.empty() ? typeid(ex).name() : type.c_str(), ex.what());
  } catch (...) {
    std::fprintf(stderr, "trident: exception of unknown type escaped a posted task\n");
  }
}

}  // namespace detail

namespace {

constexpr int spin_rounds = 64;
constexpr int yield_rounds = 16;

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

struct thread_pool::impl final : exec::detail::blocking_context {
  enum wake_state : std::uint32_t { parked = 0, notified = 1, running = 2 };

  struct alignas(64) worker {
    exec::detail::work_stealing_deque<exec::detail::task_node*> deque;  // nested work: owner LIFO, thieves FIFO
    // Outside work: everyone, the owner too, takes from the steal end (FIFO); never popped.
    exec::detail::work_stealing_deque<exec::detail::task_node*> inbox;
    std::atomic<std::uint32_t> wake_word{running};
    // Written by the owner only (plain load+store, no locked instruction); read by statistics().
    std::atomic<std::uint64_t> executed{0};
    std::atomic<std::uint64_t> stolen{0};
    std::atomic<std::uint64_t> taken_injected{0};
    std::atomic<bool> busy{false};
    std::minstd_rand rng;
    std::size_t index = 0;
    std::thread thread;

    void wake() noexcept {
      if (wake_word.exchange(notified, std::memory_order_seq_cst) == parked) exec::detail::futex_wake(wake_word, 1);
    }
    static void bump(std::atomic<std::uint64_t>& counter, std::uint64_t by = 1) noexcept {
      counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
    }
  };

  thread_pool* owner;
  std::string name;
  std::vector<std::unique_ptr<worker>> workers;

  // Injection stack: nodes pushed by threads outside the pool, newest first (Treiber stack).
  // Bit 0 of the head marks the pool closed to outside submissions (nodes are 8-aligned).
  alignas(64) std::atomic<std::uintptr_t> inject_head{0};
  static constexpr std::uintptr_t closed_bit = 1;
  // For statistics().queued: nodes pushed from outside, and those taken by non-workers.
  alignas(64) std::atomic<std::uint64_t> submitted_outside{0};
  std::atomic<std::uint64_t> taken_outside{0};

  alignas(64) std::mutex idle_mutex;
  std::vector<worker*> idle;
  std::atomic<std::size_t> idle_count{0};

  std::atomic<bool> stopping{false};
  std::atomic<bool> cancel_on_shutdown{false};
  std::once_flag joined;

  static thread_local impl* current_pool;
  static thread_local worker* current_worker;

  impl(thread_pool* o, thread_pool_options opts) : owner(o), name(std::move(opts.name)) {
    if (opts.workers == 0) throw std::invalid_argument("thread_pool needs at least one worker (got 0)");
    workers.reserve(opts.workers);
    for (std::size_t i = 0; i < opts.workers; ++i) {
      auto w = std::make_unique<worker>();
      w->index = i;
      w->rng.seed(static_cast<unsigned>(i * 7919 + 1));
      workers.push_back(std::move(w));
    }
    idle.reserve(workers.size());
    try {
      for (auto& w : workers) {
        w->thread = std::thread([this, wp = w.get()] { worker_main(*wp); });
      }
    } catch (...) {  // could not start a thread (EAGAIN, a pids limit): stop the ones started
      inject_head.fetch_or(closed_bit, std::memory_order_acq_rel);
      stopping.store(true, std::memory_order_release);
      wake_all();
      for (auto& w : workers) {
        if (w->thread.joinable()) w->thread.join();
      }
      throw;
    }
  }

  // ------------------------------------------------------------------------------------------
  // Publishing work

  void schedule(exec::detail::task_node* node) {
    if (current_pool == this) {
      worker& w = *current_worker;
      try {
        w.deque.push(node);
      } catch (...) {  // out of memory growing the deque
        node->discard();
        throw;
      }
      wake_one_if_idle();  // step 4
      return;
    }
    std::uintptr_t head = inject_head.load(std::memory_order_relaxed);
    do {
      if (head & closed_bit) {
        node->discard();
        throw shutdown_error("cannot submit to a thread_pool after shutdown");
      }
      node->next = reinterpret_cast<exec::detail::task_node*>(head);
    } while (!inject_head.compare_exchange_weak(head, reinterpret_cast<std::uintptr_t>(node), std::memory_order_release,
                                                std::memory_order_relaxed));
    submitted_outside.fetch_add(1, std::memory_order_relaxed);
    if (head == 0) wake_one_if_idle();  // step 3: only the push that made the stack non-empty
  }

  /// Step 3's publisher side. Assumes the caller has published work.
  void wake_one_if_idle() noexcept {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (idle_count.load(std::memory_order_relaxed) != 0) wake_one();
  }

  void wake_one() noexcept {
    worker* w = nullptr;
    {
      std::lock_guard lock(idle_mutex);
      if (idle.empty()) return;
      w = idle.back();
      idle.pop_back();
      idle_count.fetch_sub(1, std::memory_order_relaxed);
    }
    w->wake();
  }

  void wake_all() noexcept {
    std::vector<worker*> sleepers;
    {
      std::lock_guard lock(idle_mutex);
      sleepers.swap(idle);
      idle_count.store(0, std::memory_order_relaxed);
    }
    for (auto* w : sleepers) w->wake();
  }

  // ------------------------------------------------------------------------------------------
  // Finding work

  /// Detaches the whole injection stack, keeping the closed bit. Returns it newest first.
  exec::detail::task_node* take_all_injected() noexcept {
    std::uintptr_t head = inject_head.load(std::memory_order_relaxed);
    do {
      if ((head & ~closed_bit) == 0) return nullptr;
    } while (!inject_head.compare_exchange_weak(head, head & closed_bit, std::memory_order_acquire,
                                                std::memory_order_relaxed));
    return reinterpret_cast<exec::detail::task_node*>(head & ~closed_bit);
  }

  /// Moves the injection stack into `w`'s inbox, oldest first, and takes the oldest node.
  /// Everyone, the owner included, takes from an inbox's steal end, so outside submissions start
  /// in the order they were made (as with Python's executor), whichever worker runs them.
  exec::detail::task_node* take_injected(worker& w) {
    exec::detail::task_node* newest_first = take_all_injected();
    if (newest_first == nullptr) return nullptr;
    exec::detail::task_node* oldest_first = nullptr;
    std::uint64_t count = 0;
    while (newest_first != nullptr) {
      exec::detail::task_node* next = newest_first->next;
      newest_first->next = oldest_first;
      oldest_first = newest_first;
      newest_first = next;
      ++count;
    }
    worker::bump(w.taken_injected, count);
    if (count == 1) return oldest_first;
    exec::detail::task_node* first = oldest_first;
    for (exec::detail::task_node* n = first->next; n != nullptr;) {
      exec::detail::task_node* next = n->next;
      n->next = nullptr;
      w.inbox.push(n);
      n = next;
    }
    first->next = nullptr;
    wake_one_if_idle();  // the batch is stealable now: let an idle peer share it
    return first;
  }

  exec::detail::task_node* steal(worker& w) {
    const std::size_t n = workers.size();
    if (n == 1) return nullptr;
    const std::size_t start = w.rng() % n;
    for (std::size_t i = 0; i < n; ++i) {
      worker& victim = *workers[(start + i) % n];
      if (&victim == &w) continue;
      exec::detail::task_node* node = victim.inbox.steal_unpopped();
      if (node == nullptr) node = victim.deque.steal();
      if (node != nullptr) {
        worker::bump(w.stolen);
        return node;
      }
    }
    return nullptr;
  }

  exec::detail::task_node* find_work(worker& w) {
    if (auto* node = w.deque.pop()) return node;
    if (auto* node = w.inbox.steal_unpopped()) return node;
    if (auto* node = take_injected(w)) return node;
    return steal(w);
  }

  bool any_work_visible() const noexcept {
    if ((inject_head.load(std::memory_order_relaxed) & ~closed_bit) != 0) return true;
    for (const auto& w : workers) {
      if (!w->deque.looks_empty() || !w->inbox.looks_empty()) return true;
    }
    return false;
  }

  void execute(worker& w, exec::detail::task_node* node) noexcept {
    const bool was_busy = w.busy.load(std::memory_order_relaxed);
    if (!was_busy) w.busy.store(true, std::memory_order_relaxed);
    run_traced(node);
    worker::bump(w.executed);
    if (!was_busy) {
      w.busy.store(false, std::memory_order_release);
      // During shutdown, parked peers wait for every worker to be idle: tell them.
      if (stopping.load(std::memory_order_acquire)) wake_all();
    }
  }

  /// Runs (and so frees) `node`, recording a timeline span when tracing is on.
  void run_traced(exec::detail::task_node* node) noexcept {
    if (!trace::enabled()) {
      node->run();
      return;
    }
    const auto start = trace::now_ns();
    node->run();
    try {
      trace::record("task", "thread_pool", start, trace::now_ns(), name);
    } catch (...) {  // out of memory for the timeline: drop the span, keep the pool running
    }
  }

  // ------------------------------------------------------------------------------------------
  // Parking

  /// Parks `w` until woken, `deadline` passes, or `ready()` holds at the re-check (step 2).
  template <class Ready>
  void park(worker& w, Ready ready, const std::chrono::steady_clock::time_point* deadline) {
    {
      std::lock_guard lock(idle_mutex);
      w.wake_word.store(parked, std::memory_order_relaxed);
      idle.push_back(&w);  // never reallocates: reserved for every worker
      idle_count.fetch_add(1, std::memory_order_seq_cst);
    }
    // The re-check below must not be ordered before the registration above (the parker's half
    // of the Dekker pair; a locked RMW already is a full barrier on x86, not on every CPU).
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!any_work_visible() && !ready()) {
      if (deadline != nullptr) {
        while (w.wake_word.load(std::memory_order_acquire) == parked &&
               exec::detail::futex_wait_until(w.wake_word, parked, *deadline)) {}
      } else {
        while (w.wake_word.load(std::memory_order_acquire) == parked) exec::detail::futex_wait(w.wake_word, parked);
      }
    }
    w.wake_word.store(running, std::memory_order_relaxed);
    std::lock_guard lock(idle_mutex);
    auto it = std::find(idle.begin(), idle.end(), &w);
    if (it != idle.end()) {
      idle.erase(it);
      idle_count.fetch_sub(1, std::memory_order_relaxed);
    }
  }

  bool any_peer_busy(const worker& self) const noexcept {
    for (const auto& w : workers) {
      if (w.get() != &self && w->busy.load(std::memory_order_acquire)) return true;
    }
    return false;
  }

  /// Step 2's short wait before parking. Returns whether work showed up.
  bool linger() const noexcept {
    for (int i = 0; i < spin_rounds; ++i) {
      cpu_relax();
      if (any_work_visible()) return true;
    }
    for (int i = 0; i < yield_rounds; ++i) {
      std::this_thread::yield();
      if (any_work_visible()) return true;
    }
    return false;
  }

  void worker_main(worker& w) {
    current_pool = this;
    current_worker = &w;
    exec::detail::current_blocking_context() = this;
    trace::set_thread_name(fmt::format("{}-{}", name, w.index));
    for (;;) {
      if (auto* node = find_work(w)) {
        execute(w, node);
        continue;
      }
      if (linger()) continue;
      if (stopping.load(std::memory_order_acquire)) {
        if (any_work_visible()) continue;
        // A peer still running a task may yet push nested work: stay (parked) until every
        // worker is idle; the one that finds everybody idle wakes the rest, and all leave.
        if (!any_peer_busy(w)) {
          wake_all();
          break;
        }
        park(
            w, [this, &w] { return !any_peer_busy(w); }, nullptr);
        continue;
      }
      park(
          w, [this] { return stopping.load(std::memory_order_acquire); }, nullptr);
    }
    exec::detail::current_blocking_context() = nullptr;
    current_worker = nullptr;
    current_pool = nullptr;
  }

  // ------------------------------------------------------------------------------------------
  // blocking_context: waits on a worker thread run other tasks meanwhile.

  /// Wakes a parked worker when a state completes. Shared by the waiter and the state (two
  /// references), so either may finish first. `phase` keeps the waiter from leaving while a
  /// `wake` is in progress: 0 armed, 1 waking, 2 done (fired, or disarmed by the waiter).
  struct wake_node final : exec::detail::continuation {
    worker* target;
    std::atomic<int> phase{0};
    std::atomic<int> refs{2};
    explicit wake_node(worker* w) : target(w) { fire = &on_fire; }
    static void on_fire(exec::detail::continuation* c) noexcept {
      auto* self = static_cast<wake_node*>(c);
      int armed = 0;
      if (self->phase.compare_exchange_strong(armed, 1, std::memory_order_acq_rel)) {
        self->target->wake();
        self->phase.store(2, std::memory_order_release);
      }
      self->release();
    }
    /// Waiter side: after this returns the node never touches `target` again.
    void disarm() noexcept {
      int armed = 0;
      if (!phase.compare_exchange_strong(armed, 2, std::memory_order_acq_rel)) {
        while (phase.load(std::memory_order_acquire) != 2) cpu_relax();
      }
      release();
    }
    void release() noexcept {
      if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }
  };

  bool help_until(exec::detail::state_base& s, const std::chrono::steady_clock::time_point* deadline) {
    worker* w = current_worker;
    if (current_pool != this || w == nullptr) {
      return deadline ? s.block_until(*deadline) : (s.block(), true);
    }
    wake_node* node = nullptr;
    while (!s.is_done()) {
      if (deadline != nullptr && std::chrono::steady_clock::now() >= *deadline) break;
      if (auto* task = find_work(*w)) {
        execute(*w, task);
        continue;
      }
      if (node == nullptr) {
        node = new wake_node(w);
        if (!s.add_continuation(node)) {  // done meanwhile: the node never fires
          delete node;
          node = nullptr;
          break;
        }
      }
      park(
          *w, [&] { return s.is_done(); }, deadline);
    }
    // After a timeout the state may complete later, when this worker (or its whole pool) is
    // gone: the node must not wake it then.
    if (node != nullptr) {
      node->disarm();
      // This waiter parked, so a wake-up meant for new work may have been spent on it while it
      // goes back to its own task: pass it on.
      if (any_work_visible()) wake_one_if_idle();
    }
    return s.is_done();
  }

  void wait(exec::detail::state_base& s) override { help_until(s, nullptr); }
  bool wait_until(exec::detail::state_base& s, std::chrono::steady_clock::time_point deadline) override {
    return help_until(s, &deadline);
  }

  bool try_run_one() {
    if (current_pool == this) {
      worker& w = *current_worker;
      exec::detail::task_node* node = find_work(w);
      if (node != nullptr) execute(w, node);
      return node != nullptr;
    }
    // A thread outside the pool: steal, else take the injection stack, run its newest node and
    // give the rest back (submission order is not kept on this rare path).
    exec::detail::task_node* node = nullptr;
    for (auto& victim : workers) {
      node = victim->inbox.steal_unpopped();
      if (node == nullptr) node = victim->deque.steal();
      if (node != nullptr) break;
    }
    if (node == nullptr) {
      node = take_all_injected();
      if (node == nullptr) return false;
      taken_outside.fetch_add(1, std::memory_order_relaxed);
      if (exec::detail::task_node* rest = node->next) reinject(rest);
      node->next = nullptr;
    }
    run_traced(node);
    return true;
  }

  /// Pushes a newest-first chain taken from the injection stack back onto it.
  void reinject(exec::detail::task_node* chain) noexcept {
    exec::detail::task_node* last = chain;
    while (last->next != nullptr) last = last->next;
    std::uintptr_t head = inject_head.load(std::memory_order_relaxed);
    do {
      if (head & closed_bit) {
        // Shut down meanwhile: the workers may be gone, so nobody would take the chain back.
        // Settle it here, as shutdown would have: run it, or cancel it.
        const bool cancel = cancel_on_shutdown.load(std::memory_order_acquire);
        while (chain != nullptr) {
          exec::detail::task_node* next = chain->next;
          chain->next = nullptr;
          if (cancel) {
            chain->discard();
          } else {
            run_traced(chain);
          }
          chain = next;
        }
        return;
      }
      last->next = reinterpret_cast<exec::detail::task_node*>(head);
    } while (!inject_head.compare_exchange_weak(head, reinterpret_cast<std::uintptr_t>(chain),
                                                std::memory_order_release, std::memory_order_relaxed));
    wake_one_if_idle();
  }

  // ------------------------------------------------------------------------------------------

  void shutdown(shutdown_mode mode) {
    if (current_pool == this) {
      throw std::logic_error("thread_pool::shutdown called from one of its own workers; a worker cannot join itself");
    }
    if (mode == shutdown_mode::cancel_pending) cancel_on_shutdown.store(true, std::memory_order_release);
    inject_head.fetch_or(closed_bit, std::memory_order_acq_rel);
    if (mode == shutdown_mode::cancel_pending) discard_queued();
    stopping.store(true, std::memory_order_release);
    wake_all();
    std::call_once(joined, [this] {
      for (auto& w : workers) {
        if (w->thread.joinable()) w->thread.join();
      }
    });
  }

  /// Discards what is queued now. Running tasks may still push nested work to their own deque;
  /// their workers run it, since shutdown only cancels what was waiting at this moment.
  void discard_queued() {
    std::size_t discarded = 0;
    for (exec::detail::task_node* list = take_all_injected(); list != nullptr; ++discarded) {
      auto* next = list->next;
      list->discard();
      list = next;
    }
    taken_outside.fetch_add(discarded, std::memory_order_relaxed);
    for (auto& w : workers) {
      while (auto* node = w->inbox.steal_unpopped()) node->discard();
      while (auto* node = w->deque.steal()) node->discard();
    }
  }

  thread_pool_statistics statistics() const {
    thread_pool_statistics s;
    s.workers = workers.size();
    std::uint64_t executed = 0, stolen = 0, running = 0, deques = 0, taken = 0;
    for (const auto& w : workers) {
      executed += w->executed.load(std::memory_order_relaxed);
      stolen += w->stolen.load(std::memory_order_relaxed);
      running += w->busy.load(std::memory_order_relaxed) ? 1 : 0;
      deques += w->deque.approximate_size() + w->inbox.approximate_size();
      taken += w->taken_injected.load(std::memory_order_relaxed);
    }
    taken += taken_outside.load(std::memory_order_relaxed);
    const std::uint64_t submitted = submitted_outside.load(std::memory_order_relaxed);
    s.queued = deques + (submitted > taken ? submitted - taken : 0);
    s.running = running;
    s.completed = executed;  // bumped when a task has returned
    s.stolen = stolen;
    return s;
  }
};

thread_local thread_pool::impl* thread_pool::impl::current_pool = nullptr;
thread_local thread_pool::impl::worker* thread_pool::impl::current_worker = nullptr;

std::size_t thread_pool_options::default_worker_count() noexcept {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

thread_pool::thread_pool(std::size_t workers) : thread_pool(thread_pool_options{.workers = workers}) {}

thread_pool::thread_pool(thread_pool_options options) : impl_(std::make_unique<impl>(this, std::move(options))) {}

thread_pool::~thread_pool() {
  if (impl_) impl_->shutdown(shutdown_mode::wait);
}

void thread_pool::schedule(exec::detail::task_node* node) { impl_->schedule(node); }

void thread_pool::shutdown(shutdown_mode mode) { impl_->shutdown(mode); }

bool thread_pool::is_shut_down() const noexcept {
  return (impl_->inject_head.load(std::memory_order_relaxed) & impl::closed_bit) != 0;
}

std::size_t thread_pool::size() const noexcept { return impl_->workers.size(); }

thread_pool_statistics thread_pool::statistics() const { return impl_->statistics(); }

thread_pool* thread_pool::current() noexcept {
  return impl::current_pool != nullptr ? impl::current_pool->owner : nullptr;
}

int thread_pool::current_worker_index() noexcept {
  return impl::current_worker != nullptr ? static_cast<int>(impl::current_worker->index) : -1;
}

bool thread_pool::try_run_one() { return impl_->try_run_one(); }

std::ostream& operator<<(std::ostream& out, const thread_pool_statistics& s) {
  return out << fmt::format("[workers:{}, queued:{}, running:{}, completed:{}, stolen:{}]", s.workers, s.queued,
                            s.running, s.completed, s.stolen);
}

std::ostream& operator<<(std::ostream& out, const thread_pool& pool) {
  return out << "thread_pool" << (pool.is_shut_down() ? "[shut down]" : "") << pool.statistics();
}

}  // namespace trident::exec
