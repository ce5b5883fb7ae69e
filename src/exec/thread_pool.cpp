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
#include <stdexcept>
#include <thread>
#include <typeinfo>

#include <cxxabi.h>
#include <fmt/format.h>

#include "trident/exec/detail/work_stealing_deque.hpp"
#include "trident/trace/recorder.hpp"

// Worker life cycle
//   1. A worker looks for work: its own deque (LIFO), then the injection queue (a batch, the rest
//      of which goes to its deque so others can steal it), then one steal attempt per other worker.
//   2. Finding none, it spins briefly (work often arrives within microseconds), then parks:
//      a. under idle_mutex_ it resets its wake word and joins the idle list (idle_count_ rises,
//         a seq_cst read-modify-write);
//      b. it checks every queue once more and, finding work, leaves the list and goes to 1;
//      c. it futex-waits on its wake word.
//   3. Whoever makes work available (schedule, or a worker pushing nested work) publishes it,
//      issues a seq_cst fence, and reads idle_count_; if it is non-zero it pops one idle worker
//      and wakes it. The fence on one side and the RMW on the other form a Dekker pair: either the
//      parker sees the work in 2b, or the publisher sees the parker in 3. No wake-up is lost.
//
// Waiting inside the pool (blocking_context)
//   A worker waiting on a shared state runs tasks as in 1. When there are none it registers a
//   continuation on the state that wakes this worker, then parks as in 2 (so new work also wakes
//   it), and loops until the state is done.
//
// Shutdown
//   1. accepting_ = false under inject_mutex_ (no submission from outside slips in after it).
//   2. cancel_pending: every queued task is discarded (its future becomes cancelled).
//   3. stopping_ = true, every parked worker is woken.
//   4. A worker whose search finds nothing while stopping_ is set exits; with the queues drained
//      and no task running, nothing can add work. Then all threads are joined.

namespace trident {
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
    int status = 0;
    char* name = abi::__cxa_demangle(typeid(ex).name(), nullptr, nullptr, &status);
    std::fprintf(stderr, "trident: exception escaped a posted task: %s: %s\n",
                 status == 0 && name ? name : typeid(ex).name(), ex.what());
    std::free(name);
  } catch (...) {
    std::fprintf(stderr, "trident: exception of unknown type escaped a posted task\n");
  }
}

}  // namespace detail

namespace {

constexpr std::size_t inject_batch_max = 32;
constexpr int spin_rounds = 64;

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

struct thread_pool::impl final : detail::blocking_context {
  struct alignas(64) worker {
    detail::work_stealing_deque<detail::task_node*> deque;
    std::atomic<std::uint32_t> wake_word{0};
    // Written by the owner only; read (relaxed) by statistics().
    std::atomic<std::uint64_t> executed{0};
    std::atomic<std::uint64_t> stolen{0};
    std::atomic<std::uint64_t> pushed{0};
    std::atomic<bool> busy{false};
    std::minstd_rand rng;
    std::size_t index = 0;
    std::thread thread;

    void wake() noexcept {
      wake_word.store(1, std::memory_order_release);
      detail::futex_wake(wake_word, 1);
    }
  };

  thread_pool* owner;
  std::string name;
  std::vector<std::unique_ptr<worker>> workers;

  // Injection queue: an intrusive FIFO of nodes from non-worker threads.
  std::mutex inject_mutex;
  detail::task_node* inject_head = nullptr;
  detail::task_node* inject_tail = nullptr;
  std::atomic<std::size_t> inject_size{0};
  std::uint64_t injected_total = 0;  // guarded by inject_mutex
  bool accepting = true;             // guarded by inject_mutex
  std::atomic<bool> accepting_flag{true};

  std::mutex idle_mutex;
  std::vector<worker*> idle;
  std::atomic<std::size_t> idle_count{0};

  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> discarded{0};
  std::once_flag joined;

  static thread_local impl* current_pool;
  static thread_local worker* current_worker;

  impl(thread_pool* o, options opts) : owner(o), name(std::move(opts.name)) {
    if (opts.threads == 0) throw std::invalid_argument("thread_pool needs at least one thread (got 0)");
    workers.reserve(opts.threads);
    for (std::size_t i = 0; i < opts.threads; ++i) {
      auto w = std::make_unique<worker>();
      w->index = i;
      w->rng.seed(static_cast<unsigned>(i * 7919 + 1));
      workers.push_back(std::move(w));
    }
    for (auto& w : workers) {
      w->thread = std::thread([this, wp = w.get()] { worker_main(*wp); });
    }
  }

  // ------------------------------------------------------------------------------------------
  // Publishing work

  void schedule(detail::task_node* node) {
    if (current_pool == this) {
      worker& w = *current_worker;
      w.deque.push(node);
      w.pushed.fetch_add(1, std::memory_order_relaxed);
    } else {
      {
        std::lock_guard lock(inject_mutex);
        if (!accepting) {
          node->discard();
          throw shutdown_error("cannot submit to a thread_pool after shutdown");
        }
        node->next = nullptr;
        if (inject_tail != nullptr) {
          inject_tail->next = node;
        } else {
          inject_head = node;
        }
        inject_tail = node;
        ++injected_total;
        inject_size.fetch_add(1, std::memory_order_relaxed);
      }
    }
    wake_one_if_idle();
  }

  void wake_one_if_idle() noexcept {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (idle_count.load(std::memory_order_relaxed) == 0) return;
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

  detail::task_node* take_injected(worker& w) {
    if (inject_size.load(std::memory_order_relaxed) == 0) return nullptr;
    detail::task_node* first = nullptr;
    std::size_t extra = 0;
    {
      std::lock_guard lock(inject_mutex);
      if (inject_head == nullptr) return nullptr;
      const std::size_t available = inject_size.load(std::memory_order_relaxed);
      // Take a fair share so the other workers find some too.
      const std::size_t want = std::clamp<std::size_t>(available / workers.size(), 1, inject_batch_max);
      first = inject_head;
      detail::task_node* last = first;
      for (std::size_t i = 1; i < want && last->next != nullptr; ++i) {
        last = last->next;
        ++extra;
      }
      inject_head = last->next;
      if (inject_head == nullptr) inject_tail = nullptr;
      last->next = nullptr;
      inject_size.fetch_sub(extra + 1, std::memory_order_relaxed);
    }
    if (extra > 0) {
      for (detail::task_node* n = first->next; n != nullptr;) {
        detail::task_node* next = n->next;
        n->next = nullptr;
        w.deque.push(n);
        n = next;
      }
      w.pushed.fetch_add(extra, std::memory_order_relaxed);
      if (extra > 1) wake_one_if_idle();
    }
    first->next = nullptr;
    return first;
  }

  detail::task_node* steal(worker& w) {
    const std::size_t n = workers.size();
    if (n == 1) return nullptr;
    const std::size_t start = w.rng() % n;
    for (std::size_t i = 0; i < n; ++i) {
      worker& victim = *workers[(start + i) % n];
      if (&victim == &w) continue;
      if (auto* node = victim.deque.steal()) {
        w.stolen.fetch_add(1, std::memory_order_relaxed);
        return node;
      }
    }
    return nullptr;
  }

  detail::task_node* find_work(worker& w) {
    if (auto* node = w.deque.pop()) return node;
    if (auto* node = take_injected(w)) return node;
    return steal(w);
  }

  bool any_work_visible() const noexcept {
    if (inject_size.load(std::memory_order_relaxed) != 0) return true;
    for (const auto& w : workers) {
      if (!w->deque.looks_empty()) return true;
    }
    return false;
  }

  void execute(worker& w, detail::task_node* node) noexcept {
    const bool was_busy = w.busy.exchange(true, std::memory_order_relaxed);
    run_traced(node);
    w.busy.store(was_busy, std::memory_order_relaxed);
    w.executed.fetch_add(1, std::memory_order_relaxed);
  }

  /// Runs (and so frees) `node`, recording a timeline span when tracing is on.
  void run_traced(detail::task_node* node) noexcept {
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

  /// Parks `w` until woken, `deadline` passes, or `ready()` holds at the re-check.
  template <class Ready>
  void park(worker& w, Ready ready, const std::chrono::steady_clock::time_point* deadline) {
    {
      std::lock_guard lock(idle_mutex);
      w.wake_word.store(0, std::memory_order_relaxed);
      idle.push_back(&w);
      idle_count.fetch_add(1, std::memory_order_seq_cst);
    }
    if (!any_work_visible() && !ready()) {
      if (deadline != nullptr) {
        while (w.wake_word.load(std::memory_order_acquire) == 0 &&
               detail::futex_wait_until(w.wake_word, 0, *deadline)) {
        }
      } else {
        while (w.wake_word.load(std::memory_order_acquire) == 0) detail::futex_wait(w.wake_word, 0);
      }
    }
    std::lock_guard lock(idle_mutex);
    auto it = std::find(idle.begin(), idle.end(), &w);
    if (it != idle.end()) {
      idle.erase(it);
      idle_count.fetch_sub(1, std::memory_order_relaxed);
    }
  }

  void worker_main(worker& w) {
    current_pool = this;
    current_worker = &w;
    detail::current_blocking_context() = this;
    trace::set_thread_name(fmt::format("{}-{}", name, w.index));
    for (;;) {
      if (auto* node = find_work(w)) {
        execute(w, node);
        continue;
      }
      bool found = false;
      for (int i = 0; i < spin_rounds && !found; ++i) {
        cpu_relax();
        found = any_work_visible();
      }
      if (found) continue;
      if (stopping.load(std::memory_order_acquire)) {
        if (any_work_visible()) continue;
        break;
      }
      park(w, [this] { return stopping.load(std::memory_order_acquire); }, nullptr);
    }
    detail::current_blocking_context() = nullptr;
    current_worker = nullptr;
    current_pool = nullptr;
  }

  // ------------------------------------------------------------------------------------------
  // blocking_context: waits on a worker thread run other tasks meanwhile.

  /// Wakes a parked worker when a state completes. Shared by the waiter and the state (two
  /// references), so either may finish first. `phase` keeps the waiter from leaving while a
  /// `wake` is in progress: 0 armed, 1 waking, 2 done (fired, or disarmed by the waiter).
  struct wake_node final : detail::continuation {
    worker* target;
    std::atomic<int> phase{0};
    std::atomic<int> refs{2};
    explicit wake_node(worker* w) : target(w) { fire = &on_fire; }
    static void on_fire(detail::continuation* c) noexcept {
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

  bool help_until(detail::state_base& s, const std::chrono::steady_clock::time_point* deadline) {
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
      park(*w, [&] { return s.is_done(); }, deadline);
    }
    // After a timeout the state may complete later, when this worker (or its whole pool) is
    // gone: the node must not wake it then.
    if (node != nullptr) node->disarm();
    // A wake-up meant for new work may have been spent on this waiter, which now goes back to
    // its own task: pass it on.
    if (any_work_visible()) wake_one_if_idle();
    return s.is_done();
  }

  void wait(detail::state_base& s) override { help_until(s, nullptr); }
  bool wait_until(detail::state_base& s, std::chrono::steady_clock::time_point deadline) override {
    return help_until(s, &deadline);
  }

  bool try_run_one() {
    worker* w = current_pool == this ? current_worker : nullptr;
    detail::task_node* node = nullptr;
    if (w != nullptr) {
      node = find_work(*w);
      if (node != nullptr) execute(*w, node);
      return node != nullptr;
    }
    {
      std::lock_guard lock(inject_mutex);
      node = inject_head;
      if (node != nullptr) {
        inject_head = node->next;
        if (inject_head == nullptr) inject_tail = nullptr;
        inject_size.fetch_sub(1, std::memory_order_relaxed);
      }
    }
    if (node == nullptr) {
      for (auto& victim : workers) {
        if ((node = victim->deque.steal()) != nullptr) break;
      }
    }
    if (node == nullptr) return false;
    node->next = nullptr;
    run_traced(node);
    return true;
  }

  // ------------------------------------------------------------------------------------------

  void shutdown(shutdown_mode mode) {
    if (current_pool == this) {
      throw std::logic_error("thread_pool::shutdown called from one of its own workers; a worker cannot join itself");
    }
    {
      std::lock_guard lock(inject_mutex);
      accepting = false;
      accepting_flag.store(false, std::memory_order_relaxed);
    }
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
    detail::task_node* list = nullptr;
    {
      std::lock_guard lock(inject_mutex);
      list = inject_head;
      inject_head = inject_tail = nullptr;
      inject_size.store(0, std::memory_order_relaxed);
    }
    while (list != nullptr) {
      auto* next = list->next;
      list->discard();
      discarded.fetch_add(1, std::memory_order_relaxed);
      list = next;
    }
    for (auto& w : workers) {
      while (auto* node = w->deque.steal()) {
        node->discard();
        discarded.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }

  pool_statistics statistics() const {
    pool_statistics s;
    s.threads = workers.size();
    std::uint64_t executed = 0, stolen = 0, pushed = 0, running = 0;
    for (const auto& w : workers) {
      executed += w->executed.load(std::memory_order_relaxed);
      stolen += w->stolen.load(std::memory_order_relaxed);
      pushed += w->pushed.load(std::memory_order_relaxed);
      running += w->busy.load(std::memory_order_relaxed) ? 1 : 0;
    }
    s.queued = inject_size.load(std::memory_order_relaxed);
    for (const auto& w : workers) s.queued += w->deque.approximate_size();
    s.running = running;
    s.completed = executed - std::min(executed, running);
    s.stolen = stolen;
    (void)pushed;
    return s;
  }
};

thread_local thread_pool::impl* thread_pool::impl::current_pool = nullptr;
thread_local thread_pool::impl::worker* thread_pool::impl::current_worker = nullptr;

std::size_t thread_pool::default_thread_count() noexcept {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

thread_pool::thread_pool(std::size_t threads) : thread_pool(options{threads, "trident-pool"}) {}

thread_pool::thread_pool(options opts) : impl_(std::make_unique<impl>(this, std::move(opts))) {}

thread_pool::~thread_pool() {
  if (impl_) impl_->shutdown(shutdown_mode::wait);
}

void thread_pool::schedule(detail::task_node* node) { impl_->schedule(node); }

void thread_pool::shutdown(shutdown_mode mode) { impl_->shutdown(mode); }

bool thread_pool::is_shut_down() const noexcept { return !impl_->accepting_flag.load(std::memory_order_relaxed); }

std::size_t thread_pool::size() const noexcept { return impl_->workers.size(); }

pool_statistics thread_pool::statistics() const { return impl_->statistics(); }

thread_pool* thread_pool::current() noexcept {
  return impl::current_pool != nullptr ? impl::current_pool->owner : nullptr;
}

int thread_pool::current_worker_index() noexcept {
  return impl::current_worker != nullptr ? static_cast<int>(impl::current_worker->index) : -1;
}

bool thread_pool::try_run_one() { return impl_->try_run_one(); }

std::ostream& operator<<(std::ostream& out, const pool_statistics& s) {
  return out << fmt::format("[threads:{}, queued:{}, running:{}, completed:{}, stolen:{}]", s.threads, s.queued,
                            s.running, s.completed, s.stolen);
}

std::ostream& operator<<(std::ostream& out, const thread_pool& pool) {
  return out << "thread_pool" << (pool.is_shut_down() ? "[shut down]" : "") << pool.statistics();
}

}  // namespace trident
