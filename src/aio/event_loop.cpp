#include "trident/aio/event_loop.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <array>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "remap_vector.hpp"
#include "trident/aio/run_in.hpp"
#include "trident/aio/spawn.hpp"
#include "uring_backend.hpp"

// One step of the loop
//   1. Run every coroutine that was ready when the step began (ones made ready meanwhile wait
//      for the next step, so a coroutine that reschedules itself cannot starve the others).
//   2. Wait for I/O: not at all if something is ready, else until the earliest timer. With
//      epoll, one epoll_wait; with io_uring, one io_uring_enter that also submits the poll
//      requests queued since the last step (uring_backend.hpp).
//   3. Resume the waiters of ready fds; run callbacks posted from other threads (woken through
//      the eventfd, which the backend watches like any fd).
//   4. Fire every timer whose deadline has passed, in deadline order.
//
// Cross-thread posts: a mutex-guarded vector plus an eventfd. `wake_pending_` makes one write
// to the eventfd per batch of posts, not one per post.

namespace trident::aio {

namespace lowlevel {

class remote_endpoint {
 public:
  explicit remote_endpoint(int wake_fd) noexcept : wake_fd_(wake_fd) {}
  remote_endpoint(const remote_endpoint&) = delete;
  remote_endpoint& operator=(const remote_endpoint&) = delete;
  ~remote_endpoint() { ::close(wake_fd_); }

  void post(std::function<void()> fn) {
    {
      std::lock_guard lock(mutex_);
      if (closed_) return;
      queue_.push_back(std::move(fn));
    }
    if (!wake_pending_.exchange(true, std::memory_order_acq_rel)) {
      const std::uint64_t one = 1;
      [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
    }
  }

  /// Loop thread: after the eventfd fired.
  void drain_wakeup() noexcept {
    std::uint64_t count = 0;
    [[maybe_unused]] auto r = ::read(wake_fd_, &count, sizeof count);
    wake_pending_.store(false, std::memory_order_release);
  }

  void take(std::vector<std::function<void()>>& out) {
    std::lock_guard lock(mutex_);
    out.swap(queue_);
  }

  bool empty() {
    std::lock_guard lock(mutex_);
    return queue_.empty();
  }

  void close() {
    std::vector<std::function<void()>> dropped;
    std::lock_guard lock(mutex_);
    closed_ = true;
    dropped.swap(queue_);
  }

  int fd() const noexcept { return wake_fd_; }

 private:
  int wake_fd_;
  std::mutex mutex_;
  std::vector<std::function<void()>> queue_;  // guarded by mutex_
  bool closed_ = false;                       // guarded by mutex_
  std::atomic<bool> wake_pending_{false};
};

void post(remote_endpoint& endpoint, std::function<void()> fn) { endpoint.post(std::move(fn)); }

}  // namespace lowlevel

namespace {
thread_local event_loop* running_loop = nullptr;
thread_local detail::uring_backend* running_uring = nullptr;  // running_loop's, if on io_uring
}  // namespace

struct event_loop::impl {
  loop_backend backend = loop_backend::epoll;
  int epoll_fd = -1;                              // the epoll backend
  std::unique_ptr<detail::uring_backend> uring;   // the io_uring backend
  std::vector<detail::ready_event> uring_events;  // filled by uring->wait each step

  /// A coroutine to resume: the handle alone, 8 bytes (a million sleepers waking at once queue
  /// 8 MB, not 16). Debug mode, which names the task of a slow step, keeps each entry's context
  /// in `ready_contexts`, index for index; outside debug mode that list stays empty. The queues
  /// and the timer heap grow in place (remap_vector.hpp): no second copy while they grow.
  using ready_entry = std::coroutine_handle<>;
  detail::remap_vector<ready_entry> ready;
  detail::remap_vector<ready_entry> running_batch;
  std::vector<const lowlevel::task_context*> ready_contexts;  // debug mode only; may hold nulls
  std::vector<const lowlevel::task_context*> running_contexts;

  void push_ready(std::coroutine_handle<> h, const lowlevel::task_context* context) {
    ready.push_back(h);
    if (debug) ready_contexts.push_back(context);
  }

  bool debug = false;
  clock::duration slow_step = std::chrono::milliseconds(100);
  clock::duration longest_step{0};

  /// Set on a loop that runs on virtual time: the time it stands at.
  std::optional<clock::time_point> virtual_now;
  clock::time_point now() const noexcept { return virtual_now ? *virtual_now : clock::now(); }

  /// Armed timers: a 4-ary min-heap of (deadline, node). The deadline is copied into the
  /// entry so that comparisons stay inside the heap's array: with a million sleeping tasks,
  /// loading it from each node (each in a different coroutine frame) was a cache miss per
  /// comparison and half of the time of firing them. Four children per node halve the depth.
  struct timer_entry {
    clock::time_point deadline;
    lowlevel::timer_node* node;
  };
  detail::remap_vector<timer_entry> heap;
  std::uint64_t timer_sequence = 0;

  /// Armed timers whose deadlines came in order: a first-in first-out run beside the heap.
  /// A timer armed no earlier than the last one appended (a million tasks each sleeping one
  /// second, every connection's same timeout) is appended here in O(1) and leaves from the head
  /// in O(1), where the heap costs log n with a cache miss per level once it outgrows the
  /// cache; any other timer goes to the heap. The earliest timer is the earlier of the run's
  /// head and the heap's top.
  ///
  /// The run holds node pointers alone (8 bytes a timer, the heap's entries 16): only its head
  /// is ever compared, and its deadline is read from the node, which firing touches anyway.
  /// A node in the run has `run_bit` set in its `heap_index`; the other 31 bits are its
  /// position counted from the run's first entry ever, modulo 2^31, so dropping the spent
  /// entries before the head (a move of the rest, when they are at least half) renumbers no
  /// node. Disarming leaves a hole (a null node) that the head skips; when holes outnumber the
  /// live entries, the run is compacted and its nodes renumbered.
  static constexpr std::uint32_t run_bit = 0x8000'0000u;
  static constexpr std::uint32_t position_mask = run_bit - 1;
  detail::remap_vector<lowlevel::timer_node*> run;
  clock::time_point run_last{};  ///< The latest deadline appended to the run (while not empty).
  std::size_t run_head = 0;      ///< First entry not yet fired or skipped; a live one, or the end.
  std::size_t run_live = 0;      ///< Entries with a node.
  std::uint32_t run_base = 0;    ///< Position of `run[0]`, modulo 2^31.

  std::shared_ptr<lowlevel::remote_endpoint> remote;
  std::atomic<bool> stop_requested{false};

  std::array<epoll_event, 256> events{};  // filled by epoll_wait each step

  detail::spawned_base* tasks = nullptr;  // intrusive list of live spawned tasks
  std::size_t task_count = 0;
  std::uint64_t steps = 0;

  /// Readiness of `io` (null: the wake-up eventfd) in epoll's bits: wakes its waiters or
  /// records the edge. Runs no coroutine.
  void deliver(lowlevel::io_handle* io, std::uint32_t events) {
    if (io == nullptr) {
      remote->drain_wakeup();
      return;
    }
    const bool failed = (events & (EPOLLERR | EPOLLHUP)) != 0;
    if (failed || (events & EPOLLRDHUP)) io->hangup = true;
    if ((events & (EPOLLIN | EPOLLRDHUP)) || failed) {
      if (auto h = std::exchange(io->reader, nullptr)) {
        push_ready(h, nullptr);
      } else {
        io->read_edge = true;
      }
    }
    if ((events & EPOLLOUT) || failed) {
      if (auto h = std::exchange(io->writer, nullptr)) {
        push_ready(h, nullptr);
      } else {
        io->write_edge = true;
      }
    }
  }

  // -- timer heap ------------------------------------------------------------------------
  static constexpr std::size_t arity = 4;

  /// Whether `a` fires before `b`: by deadline, then in arming order.
  static bool earlier(const timer_entry& a, const timer_entry& b) noexcept {
    if (a.deadline != b.deadline) return a.deadline < b.deadline;
    // Equal deadlines (rare, worth the load): arming order, modulo 2^32.
    return static_cast<std::int32_t>(a.node->sequence - b.node->sequence) < 0;
  }
  void place(std::size_t i, const timer_entry& e) noexcept {
    heap[i] = e;
    e.node->heap_index = static_cast<std::uint32_t>(i);  // arm() keeps the heap below not_armed
  }
  void sift_up(std::size_t i) noexcept {
    const timer_entry e = heap[i];
    while (i > 0) {
      const std::size_t parent = (i - 1) / arity;
      if (!earlier(e, heap[parent])) break;
      place(i, heap[parent]);
      i = parent;
    }
    place(i, e);
  }
  void sift_down(std::size_t i) noexcept {
    const timer_entry e = heap[i];
    const std::size_t n = heap.size();
    for (;;) {
      const std::size_t first = arity * i + 1;
      if (first >= n) break;
      std::size_t best = first;
      const std::size_t last = std::min(first + arity, n);
      for (std::size_t c = first + 1; c < last; ++c) {
        if (earlier(heap[c], heap[best])) best = c;
      }
      if (!earlier(heap[best], e)) break;
      place(i, heap[best]);
      i = best;
    }
    place(i, e);
  }
  void remove_at(std::size_t i) noexcept {
    lowlevel::timer_node* removed = heap[i].node;
    const timer_entry last = heap.back();
    heap.pop_back();
    removed->heap_index = lowlevel::timer_node::not_armed;
    if (i < heap.size()) {
      place(i, last);
      sift_down(i);
      sift_up(last.node->heap_index);
    }
  }

  // -- timers: the heap and the in-order run ----------------------------------------------
  [[nodiscard]] std::size_t timer_count() const noexcept { return heap.size() + run_live; }
  [[nodiscard]] bool no_timers() const noexcept { return timer_count() == 0; }

  void arm(lowlevel::timer_node& t) {
    if (timer_count() >= position_mask) throw std::length_error("event loop: too many armed timers (2 billion)");
    t.sequence = static_cast<std::uint32_t>(timer_sequence++);
    // In order when no earlier than the last appended (`run_last`, kept across holes and drops).
    if (run.size() == 0 || run_last <= t.deadline) {
      t.heap_index = run_bit | ((run_base + static_cast<std::uint32_t>(run.size())) & position_mask);
      run.push_back(&t);
      run_last = t.deadline;
      ++run_live;
      return;
    }
    heap.push_back({t.deadline, &t});
    sift_up(heap.size() - 1);
  }

  bool disarm(lowlevel::timer_node& t) noexcept {
    if (t.heap_index == lowlevel::timer_node::not_armed) return false;
    if ((t.heap_index & run_bit) == 0) {
      remove_at(t.heap_index);
      return true;
    }
    run[((t.heap_index & position_mask) - run_base) & position_mask] = nullptr;
    t.heap_index = lowlevel::timer_node::not_armed;
    --run_live;
    tidy_run();
    return true;
  }

  /// After an entry left the run: moves the head past holes, empties the run when nothing is
  /// left in it, drops spent entries once they are half of it, and compacts it when holes
  /// outnumber the live entries. Each of the last two moves at most as many entries as left the
  /// run since the last time, so the cost per timer stays constant.
  void tidy_run() noexcept {
    while (run_head < run.size() && run[run_head] == nullptr) ++run_head;
    if (run_live == 0) {
      run.clear();
      run_head = 0;
      return;
    }
    const std::size_t holes = run.size() - run_head - run_live;
    if (holes > run_live && holes > 1024) {
      std::size_t to = 0;
      for (std::size_t from = run_head; from < run.size(); ++from) {
        if (run[from] == nullptr) continue;
        run[to] = run[from];
        run[to]->heap_index = run_bit | ((run_base + static_cast<std::uint32_t>(to)) & position_mask);
        ++to;
      }
      run.truncate(to);
      run_head = 0;
    } else if (run_head > 1024 && run_head >= run.size() / 2) {
      const std::size_t kept = run.size() - run_head;
      std::memmove(&run[0], &run[run_head], kept * sizeof(lowlevel::timer_node*));
      run.truncate(kept);
      run_base = (run_base + static_cast<std::uint32_t>(run_head)) & position_mask;
      run_head = 0;
    }
  }

  /// The earliest armed timer (by deadline, then arming order); there must be one.
  [[nodiscard]] timer_entry earliest() const noexcept {
    if (run_head == run.size()) return heap.front();  // the run is empty
    const timer_entry head{run[run_head]->deadline, run[run_head]};
    return heap.size() == 0 || earlier(head, heap.front()) ? head : heap.front();
  }
  /// Takes out the earliest armed timer if its deadline is `now` or before, and returns it;
  /// nullptr when none is due. One comparison of the run's head with the heap's top per timer.
  lowlevel::timer_node* take_due(clock::time_point now) noexcept {
    if (no_timers()) return nullptr;
    const timer_entry e = earliest();
    if (e.deadline > now) return nullptr;
    if ((e.node->heap_index & run_bit) != 0) {  // the run's head
      run[run_head] = nullptr;
      e.node->heap_index = lowlevel::timer_node::not_armed;
      ++run_head;
      --run_live;
      tidy_run();
    } else {
      remove_at(0);
    }
    return e.node;
  }
};

const char* to_string(loop_backend backend) noexcept {
  switch (backend) {
    case loop_backend::automatic:
      return "automatic";
    case loop_backend::epoll:
      return "epoll";
    case loop_backend::io_uring:
      return "io_uring";
  }
  return "unknown";
}

namespace {

/// The backend asked for: the option, else TRIDENT_LOOP_BACKEND, else `automatic`.
loop_backend requested_backend(loop_backend option) {
  if (option != loop_backend::automatic) return option;
  const char* env = std::getenv("TRIDENT_LOOP_BACKEND");
  if (env == nullptr || env[0] == '\0') return loop_backend::automatic;
  const std::string_view value(env);
  if (value == "epoll") return loop_backend::epoll;
  if (value == "uring" || value == "io_uring") return loop_backend::io_uring;
  if (value == "auto" || value == "automatic") return loop_backend::automatic;
  throw std::invalid_argument("TRIDENT_LOOP_BACKEND is '" + std::string(value) +
                              "'; expected 'epoll', 'uring' (or 'io_uring') or 'auto'");
}

}  // namespace

event_loop::event_loop(loop_options options) : impl_(std::make_unique<impl>()) {
  if (options.virtual_time) impl_->virtual_now = clock::now();
  if (const char* env = std::getenv("TRIDENT_AIO_DEBUG"); env != nullptr && env[0] == '1') impl_->debug = true;
  // `automatic` is epoll: it measured faster than io_uring on the echo benchmark (docs/aio.md,
  // "Backends"), and every kernel and sandbox allows it. io_uring runs only when asked for.
  if (requested_backend(options.backend) == loop_backend::io_uring) {
    std::string why;
    impl_->uring = detail::uring_backend::create(why);
    if (!impl_->uring) {
      throw std::system_error(std::make_error_code(std::errc::function_not_supported),
                              "the io_uring event loop backend is not available: " + why);
    }
    impl_->backend = loop_backend::io_uring;
  }
  const int wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  impl_->remote = std::make_shared<lowlevel::remote_endpoint>(wake_fd);  // owns wake_fd from here
  if (impl_->uring) {
    impl_->uring->watch_wakeup(wake_fd);
    return;
  }
  impl_->epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (impl_->epoll_fd < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // nullptr marks the wake-up eventfd
  if (::epoll_ctl(impl_->epoll_fd, EPOLL_CTL_ADD, wake_fd, &ev) != 0) {
    const int e = errno;
    ::close(impl_->epoll_fd);
    throw std::system_error(e, std::generic_category(), "epoll_ctl(eventfd)");
  }
}

event_loop::~event_loop() {
  impl_->remote->close();
  // Tasks that never finished (the loop was never run, or is destroyed early): destroy their
  // coroutine chains. The root coroutine owns its task, which owns what it awaits.
  while (impl_->tasks != nullptr) {
    detail::spawned_base* s = impl_->tasks;
    unregister_task(*s);
    // Surviving handles must see an ended task, and a later cancel() must not call a hook that
    // points into the frame destroyed here.
    s->cancel_hook = nullptr;
    const std::coroutine_handle<> root =
        s->abandon(std::make_exception_ptr(cancelled_error("event loop destroyed before the task finished")));
    s->retrieved = true;  // not an error anyone should be told about
    if (root) root.destroy();
    s->release();  // the root coroutine's reference
  }
  impl_->uring.reset();
  if (impl_->epoll_fd >= 0) ::close(impl_->epoll_fd);  // the eventfd closes with the last holder of the endpoint
}

loop_backend event_loop::backend() const noexcept { return impl_->backend; }

event_loop* event_loop::current() noexcept { return running_loop; }

event_loop& event_loop::running() {
  if (running_loop == nullptr) throw std::logic_error("no event loop is running on this thread (use aio::run)");
  return *running_loop;
}

void event_loop::schedule(std::coroutine_handle<> h, const lowlevel::task_context* context) {
  impl_->push_ready(h, context);
}

void event_loop::set_debug(bool enabled, std::chrono::milliseconds slow_step) noexcept {
  // Debug mode's contexts line up with the ready queue from now on (unknown ones are null).
  impl_->ready_contexts.clear();
  if (enabled) {
    try {
      impl_->ready_contexts.assign(impl_->ready.size(), nullptr);
    } catch (const std::bad_alloc&) {
      impl_->debug = false;  // no memory to name the queued tasks: debug mode stays off
      return;
    }
  }
  impl_->debug = enabled;
  impl_->slow_step = slow_step;
}

bool event_loop::debug() const noexcept { return impl_->debug; }

clock::time_point event_loop::now() const noexcept { return impl_->now(); }

void event_loop::arm(lowlevel::timer_node& t) { impl_->arm(t); }

bool event_loop::disarm(lowlevel::timer_node& t) noexcept { return impl_->disarm(t); }

void event_loop::add_io(lowlevel::io_handle& h) {
  if (impl_->uring) {
    impl_->uring->add(h);
    h.loop = this;
    return;
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = &h;
  if (::epoll_ctl(impl_->epoll_fd, EPOLL_CTL_ADD, h.fd, &ev) != 0) {
    throw std::system_error(errno, std::generic_category(), "epoll_ctl(ADD)");
  }
  h.loop = this;
}

void event_loop::remove_io(lowlevel::io_handle& h) noexcept {
  // No event of a batch can still refer to `h`: a batch is turned into ready coroutines before
  // any coroutine runs, and only running coroutines remove handles. (io_uring: completions
  // that come later name the backend's record of the registration, not `h`.)
  if (impl_->uring) {
    impl_->uring->remove(h);
    return;
  }
  ::epoll_ctl(impl_->epoll_fd, EPOLL_CTL_DEL, h.fd, nullptr);
}

void event_loop::register_task(detail::spawned_base& s) noexcept {
  s.prev = nullptr;
  s.next = impl_->tasks;
  if (impl_->tasks != nullptr) impl_->tasks->prev = &s;
  impl_->tasks = &s;
  ++impl_->task_count;
}

void event_loop::unregister_task(detail::spawned_base& s) noexcept {
  if (s.prev != nullptr) {
    s.prev->next = s.next;
  } else if (impl_->tasks == &s) {
    impl_->tasks = s.next;
  } else {
    return;  // not registered
  }
  if (s.next != nullptr) s.next->prev = s.prev;
  s.prev = s.next = nullptr;
  --impl_->task_count;
}

void event_loop::post(std::function<void()> fn) { impl_->remote->post(std::move(fn)); }

std::shared_ptr<lowlevel::remote_endpoint> event_loop::endpoint() const noexcept { return impl_->remote; }

void event_loop::stop() {
  impl_->stop_requested.store(true, std::memory_order_release);
  post([] {});
}

loop_statistics event_loop::statistics() const noexcept {
  return {impl_->ready.size(), impl_->timer_count(), impl_->task_count, impl_->steps,
          std::chrono::duration_cast<std::chrono::nanoseconds>(impl_->longest_step)};
}

void event_loop::run_until(const std::function<bool()>& finished) {
  if (running_loop != nullptr) {
    throw std::logic_error(
        "an event loop is already running on this thread (loops do not nest; "
        "await the task instead)");
  }
  run_steps(finished);
}

void event_loop::run_steps(const std::function<bool()>& finished) {
  running_loop = this;
  running_uring = impl_->uring.get();
  struct reset {
    ~reset() {
      running_loop = nullptr;
      running_uring = nullptr;
    }
  } reset_current;
  auto& d = *impl_;
  std::vector<std::function<void()>> callbacks;
  while (!finished() && !d.stop_requested.load(std::memory_order_acquire)) {
    // 1. Run what is ready now. A burst (a million tasks spawned at once) runs in slices, and
    // the queue's pages of each slice go back to the system once it has run: the tasks arm
    // timers or fill other queues as they run, and the batch would otherwise stay at its full
    // size beside them until its end (8 bytes a task at the peak).
    d.running_batch.swap(d.ready);
    d.running_contexts.swap(d.ready_contexts);
    constexpr std::size_t slice = 65536;
    for (std::size_t i = 0; i < d.running_batch.size(); ++i) {
      ++d.steps;
      if (i % slice == 0 && i != 0) d.running_batch.discard(i - slice, i);
      if (!d.debug) {
        d.running_batch[i].resume();
        continue;
      }
      // Copied before resuming: the step may finish the task and free its context.
      const lowlevel::task_context* context = i < d.running_contexts.size() ? d.running_contexts[i] : nullptr;
      const char* name = context == nullptr ? "(unnamed coroutine)"
                         : context->spawned ? static_cast<const detail::spawned_base*>(context)->name()
                                            : "(a child of a gather)";
      const auto start = clock::now();
      d.running_batch[i].resume();
      const auto took = clock::now() - start;
      d.longest_step = std::max(d.longest_step, took);
      if (took > d.slow_step) {
        std::fprintf(stderr, "trident: task '%s' blocked the event loop for %.1f ms (slow-step threshold %.1f ms)\n",
                     name, std::chrono::duration<double, std::milli>(took).count(),
                     std::chrono::duration<double, std::milli>(d.slow_step).count());
      }
    }
    d.running_batch.clear();
    d.running_contexts.clear();
    // A burst (a million tasks spawned at once) must not keep a second queue of its size:
    // `ready` grows again meanwhile, and the two would hold twice the memory.
    if (d.running_batch.capacity() > 65536) d.running_batch.release();
    if (finished()) break;

    // 2. Wait for I/O, a post, or the earliest timer: `wait` empty for as long as it takes.
    std::optional<clock::duration> wait;
    // With virtual time and timers pending, poll only: the jump to the next timer comes below.
    if (!d.ready.empty() || (!d.no_timers() && d.virtual_now)) {
      wait = clock::duration::zero();
    } else if (!d.no_timers()) {
      wait = std::max(d.earliest().deadline - clock::now(), clock::duration::zero());
    }
    int n = 0;
    if (d.uring) {
      d.uring_events.clear();
      std::optional<std::chrono::nanoseconds> wait_ns;
      // io_uring's timeout is in nanoseconds on the steady clock: no rounding needed.
      if (wait) wait_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(*wait);
      d.uring->wait(d.uring_events, wait_ns);
      n = static_cast<int>(d.uring_events.size());
      // 3. I/O readiness (the eventfd's too), then callbacks posted from other threads.
      for (const detail::ready_event& ev : d.uring_events) {
        if (ev.resume) {
          d.push_ready(ev.resume, nullptr);  // a completed request
        } else {
          d.deliver(ev.io, ev.events);
        }
      }
    } else {
      int timeout_ms = -1;
      if (wait) {
        // Round up so a timer is never found "not yet due" on wake-up, which would spin.
        const auto ms = std::chrono::ceil<std::chrono::milliseconds>(*wait).count();
        timeout_ms = static_cast<int>(std::min<long long>(ms, INT_MAX));
      }
      n = ::epoll_wait(d.epoll_fd, d.events.data(), static_cast<int>(d.events.size()), timeout_ms);
      if (n < 0 && errno != EINTR) throw std::system_error(errno, std::generic_category(), "epoll_wait");
      // 3. I/O readiness (the eventfd's too), then callbacks posted from other threads.
      for (int i = 0; i < n; ++i) {
        const epoll_event& ev = d.events[static_cast<std::size_t>(i)];
        d.deliver(static_cast<lowlevel::io_handle*>(ev.data.ptr), ev.events);
      }
    }
    d.remote->take(callbacks);
    const bool had_callbacks = !callbacks.empty();
    for (auto& fn : callbacks) {
      try {
        fn();
      } catch (const std::exception& e) {  // one failing callback must not stop the loop
        std::fprintf(stderr, "trident: exception in a posted callback: %s\n", e.what());
      } catch (...) {
        std::fprintf(stderr, "trident: exception of unknown type in a posted callback\n");
      }
    }
    callbacks.clear();

    // 4. Due timers. On virtual time, a loop with nothing else to do jumps to the first one.
    if (d.virtual_now && n <= 0 && !had_callbacks && d.ready.empty() && !d.no_timers()) {
      d.virtual_now = std::max(*d.virtual_now, d.earliest().deadline);
    }
    const auto now = d.now();
    while (lowlevel::timer_node* t = d.take_due(now)) t->fire(t);
  }
}

void event_loop::wind_down() {
  auto& d = *impl_;
  d.stop_requested.store(false, std::memory_order_release);
  // Cancel every task still alive and run until they have finished, so their cleanup runs. A
  // task that catches the cancellation and waits again is cancelled again, a bounded number of
  // times; one that waits on something no Trident awaitable controls is left to the destructor.
  for (int round = 0; round < 16 && d.tasks != nullptr; ++round) {
    for (detail::spawned_base* s = d.tasks; s != nullptr;) {
      detail::spawned_base* next = s->next;
      s->cancel();
      s = next;
    }
    run_steps([&d] {
      if (d.tasks == nullptr) return true;
      if (!d.ready.empty() || !d.no_timers()) return false;
      // io_uring: a cancelled receive resumes its task when the request's completion comes.
      if (d.uring && d.uring->cancellations_pending() > 0) return false;
      return d.remote->empty();  // nothing left that could resume a task
    });
  }
}

detail::uring_backend* detail::running_uring_backend() noexcept { return running_uring; }

exec::thread_pool& default_blocking_pool() {
  static exec::thread_pool pool(exec::thread_pool_options{
      std::max<std::size_t>(4, exec::thread_pool_options::default_worker_count()), "trident-to-thread"});
  return pool;
}

}  // namespace trident::aio
