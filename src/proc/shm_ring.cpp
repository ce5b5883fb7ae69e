// The shared-memory ring of proc::queue.
//
// Layout of the memfd: a header, then `capacity` slots of (u32 length, `max_message` bytes).
// head/tail/count are guarded by a robust process-shared pthread mutex: if a process dies while
// holding it, the next locker gets EOWNERDEAD, marks it consistent and goes on (the ring's
// invariants hold between statements that matter: a slot is written before `count` grows).
//
// Waiting: `not_empty` and `not_full` are futex sequence words. A waiter reads the word and
// registers itself (`*_waiters`) under the mutex, unlocks, then sleeps with FUTEX_WAIT_BITSET
// (absolute CLOCK_MONOTONIC deadline, *shared* futex: the word is keyed by the page, not by the
// process). A producer bumps `not_empty` under the mutex after adding, and wakes only when
// someone is registered; a sleeper whose word changed after it read it does not sleep (the
// kernel compares atomically), so no wake-up is lost.
//
// Coroutines (proc/run_in.hpp) do not block a thread each. A coroutine that finds the ring
// empty (full) leaves a `ring_wake_hook` with this process's watcher for that direction: one
// thread per ring handle and direction, started on first use, that sleeps on the same futex
// word as blocked threads do, with no timeout:
//   1. The watcher takes the ring lock; if the ring is ready it fires every hook (each posts a
//      wake-up to its loop) and goes back to waiting for hooks. Otherwise it reads the word,
//      registers as a waiter (`*_waiters`, and `async_*` so producers know a watcher sleeps),
//      unlocks and sleeps in FUTEX_WAIT on the word.
//   2. A producer (consumer) changes the word under the lock and, while any watcher sleeps,
//      wakes *all* sleepers instead of one: a single wake-up could land on a watcher whose
//      coroutine then does not take the message (another consumer did, or it was cancelled),
//      and a blocked thread would sleep on beside a message. Every woken sleeper re-checks.
//   3. Woken, the watcher unregisters and goes to 1.
//   4. A coroutine cancelled while waiting withdraws its hook; when none is left the watcher is
//      poked (the word bumped, sleepers woken: they re-check and sleep again) so that it stops
//      being counted and producers go back to waking one sleeper. The destructor pokes it the
//      same way to stop it.
// Why a futex and not an eventfd inherited with the memfd: an eventfd's count is consumed by
// whichever process reads it first, so with loops in several processes one would swallow the
// wake-up another needed; a futex word wakes every sleeper that asked, in any process.

#include "trident/proc/detail/shm_ring.hpp"

#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "trident/core/errors.hpp"

namespace trident::proc::detail {

struct ring_header {
  std::uint32_t magic;
  std::uint32_t slot_bytes;  // 4 + max_message, rounded up to 8
  std::uint64_t capacity;
  std::uint64_t max_message;
  pthread_mutex_t mutex;
  std::uint64_t head;                // next slot to read
  std::atomic<std::uint64_t> count;  // messages in the ring; changed under the mutex only
  std::atomic<std::uint32_t> not_empty;
  std::atomic<std::uint32_t> not_full;
  std::atomic<std::uint32_t> empty_waiters;
  std::atomic<std::uint32_t> full_waiters;
  std::atomic<std::uint32_t> closed;
  std::atomic<std::uint32_t> async_empty_waiters;  // watchers among empty_waiters
  std::atomic<std::uint32_t> async_full_waiters;   // watchers among full_waiters
};

namespace {

constexpr std::uint32_t ring_magic = 0x51445254;  // "TRDQ"

char* slot(ring_header* h, std::uint64_t index) {
  return reinterpret_cast<char*>(h + 1) + (index % h->capacity) * h->slot_bytes;
}

/// Sleeps while `word == expected`, until `deadline` (nullptr: forever). Shared futex.
void futex_wait_shared(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                       const std::chrono::steady_clock::time_point* deadline) {
  timespec ts{};
  timespec* tsp = nullptr;
  if (deadline != nullptr) {
    // steady_clock is CLOCK_MONOTONIC on Linux, which FUTEX_WAIT_BITSET takes as absolute time.
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline->time_since_epoch()).count();
    ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    tsp = &ts;
  }
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_BITSET, expected, tsp, nullptr,
            FUTEX_BITSET_MATCH_ANY);
}

void futex_wake_shared(std::atomic<std::uint32_t>& word, int n) {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE, n, nullptr, nullptr, 0);
}

/// Step 2 of the coroutine protocol. Assumes the caller holds the ring lock.
void wake_sleepers(std::atomic<std::uint32_t>& word, const std::atomic<std::uint32_t>& sleepers,
                   const std::atomic<std::uint32_t>& watchers) {
  if (sleepers.load(std::memory_order_relaxed) == 0) return;
  futex_wake_shared(word, watchers.load(std::memory_order_relaxed) > 0 ? INT_MAX : 1);
}

class ring_lock {
 public:
  explicit ring_lock(ring_header* h) : h_(h) {
    const int rc = ::pthread_mutex_lock(&h_->mutex);
    if (rc == EOWNERDEAD) {
      ::pthread_mutex_consistent(&h_->mutex);  // a process died holding it; the ring is intact
    } else if (rc != 0) {
      throw std::system_error(rc, std::generic_category(), "proc::queue lock");
    }
  }
  ring_lock(const ring_lock&) = delete;
  ring_lock& operator=(const ring_lock&) = delete;
  ~ring_lock() { ::pthread_mutex_unlock(&h_->mutex); }

 private:
  ring_header* h_;
};

/// Spins (with `pause`) for a few microseconds or until `ready()`.
template <class Ready>
void spin_until(Ready ready) {
  for (int i = 0; i < 512; ++i) {
    if (ready()) return;
    __builtin_ia32_pause();
  }
}

bool expired(const std::chrono::steady_clock::time_point* deadline) {
  return deadline != nullptr && std::chrono::steady_clock::now() >= *deadline;
}

}  // namespace

/// One direction's watcher thread of one ring handle (steps 1, 3 and 4 at the top of the file).
class ring_watcher {
 public:
  ring_watcher(ring_header* h, ring_readiness readiness)
      : h_(h), readiness_(readiness), thread_([this] { run(); }) {}
  ring_watcher(const ring_watcher&) = delete;
  ring_watcher& operator=(const ring_watcher&) = delete;
  ~ring_watcher() {
    {
      std::lock_guard lock(mutex_);
      stop_requested_.store(true, std::memory_order_relaxed);  // under mutex_: no lost notify
    }
    hooks_changed_.notify_one();
    poke();
    thread_.join();
  }

  void add(ring_wake_hook& hook) {
    {
      std::lock_guard lock(mutex_);
      hook.prev = nullptr;
      hook.next = head_;
      if (head_ != nullptr) head_->prev = &hook;
      head_ = &hook;
      hook.linked = true;
      ++count_;
    }
    hooks_changed_.notify_one();
  }

  bool remove(ring_wake_hook& hook) noexcept {
    bool now_idle = false;
    {
      std::lock_guard lock(mutex_);
      if (!hook.linked) return false;  // fired, under this lock: `fire` has returned
      unlink(hook);
      now_idle = head_ == nullptr;
    }
    if (now_idle) poke();  // step 4
    return true;
  }

  [[nodiscard]] std::size_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t wakeups() const noexcept { return wakeups_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint32_t>& word() const noexcept {
    return readiness_ == ring_readiness::readable ? h_->not_empty : h_->not_full;
  }
  std::atomic<std::uint32_t>& sleepers() const noexcept {
    return readiness_ == ring_readiness::readable ? h_->empty_waiters : h_->full_waiters;
  }
  std::atomic<std::uint32_t>& watchers() const noexcept {
    return readiness_ == ring_readiness::readable ? h_->async_empty_waiters : h_->async_full_waiters;
  }
  /// Assumes the caller holds the ring lock.
  bool ready_locked() const noexcept {
    if (h_->closed.load(std::memory_order_relaxed)) return true;
    const std::uint64_t count = h_->count.load(std::memory_order_relaxed);
    return readiness_ == ring_readiness::readable ? count > 0 : count < h_->capacity;
  }

  /// Makes a sleeping (or about to sleep) watcher re-check: bumping the word under the lock
  /// means a FUTEX_WAIT on the old value returns at once.
  void poke() noexcept {
    try {
      ring_lock lock(h_);
      word().fetch_add(1, std::memory_order_release);
    } catch (...) {
      word().fetch_add(1, std::memory_order_release);  // the lock failed: a bump alone still ends the wait
    }
    futex_wake_shared(word(), INT_MAX);
  }

  /// Assumes the caller holds `mutex_`.
  void unlink(ring_wake_hook& hook) noexcept {
    if (hook.prev != nullptr) hook.prev->next = hook.next; else head_ = hook.next;
    if (hook.next != nullptr) hook.next->prev = hook.prev;
    hook.next = hook.prev = nullptr;
    hook.linked = false;
    count_.fetch_sub(1, std::memory_order_relaxed);
  }

  void run() noexcept {
    std::unique_lock lock(mutex_);
    for (;;) {
      hooks_changed_.wait(lock, [this] { return stop_requested_.load(std::memory_order_relaxed) || head_ != nullptr; });
      if (stop_requested_.load(std::memory_order_relaxed)) return;
      lock.unlock();
      bool ready = true;
      bool idle = false;
      std::uint32_t seen = 0;
      try {  // step 1
        ring_lock ring(h_);
        // Looked at under the ring lock, as `poke` bumps the word under it: a stop or a last
        // withdrawal that came after the hooks were checked is seen here, or its bump is seen
        // by FUTEX_WAIT. Either way the watcher does not sleep on through it.
        idle = stop_requested_.load(std::memory_order_relaxed) || count_.load(std::memory_order_relaxed) == 0;
        ready = idle || ready_locked();
        if (!ready) {
          seen = word().load(std::memory_order_relaxed);
          sleepers().fetch_add(1, std::memory_order_relaxed);
          watchers().fetch_add(1, std::memory_order_relaxed);
        }
      } catch (...) {
        ready = true;  // the lock failed: let the coroutines find out by trying
      }
      if (!ready) {
        futex_wait_shared(word(), seen, nullptr);
        watchers().fetch_sub(1, std::memory_order_relaxed);
        sleepers().fetch_sub(1, std::memory_order_relaxed);
        wakeups_.fetch_add(1, std::memory_order_relaxed);
        lock.lock();
        continue;  // step 3
      }
      lock.lock();
      if (idle) continue;
      while (head_ != nullptr) {
        ring_wake_hook* hook = head_;
        unlink(*hook);
        hook->fire(hook);
      }
    }
  }

  ring_header* h_;
  ring_readiness readiness_;
  std::mutex mutex_;
  std::condition_variable hooks_changed_;
  ring_wake_hook* head_ = nullptr;  // guarded by mutex_
  std::atomic<bool> stop_requested_{false};  // set under mutex_; also read under the ring lock
  std::atomic<std::size_t> count_{0};
  std::atomic<std::uint64_t> wakeups_{0};
  std::thread thread_;  // last: starts once the members above exist
};

shm_ring::shm_ring(std::size_t capacity, std::size_t max_message) {
  if (capacity == 0) throw std::invalid_argument("proc::queue capacity must be at least 1");
  if (max_message == 0 || max_message > (std::size_t{1} << 30)) {
    throw std::invalid_argument("proc::queue message size must be between 1 byte and 1 GiB");
  }
  const std::size_t slot_bytes = (4 + max_message + 7) / 8 * 8;
  const std::size_t bytes = sizeof(ring_header) + capacity * slot_bytes;
  fd_ = ::memfd_create("trident-queue", MFD_CLOEXEC);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "memfd_create");
  if (::ftruncate(fd_, static_cast<off_t>(bytes)) != 0) {
    const int e = errno;
    ::close(fd_);
    throw std::system_error(e, std::generic_category(), "ftruncate of a queue memfd");
  }
  map(bytes);
  h_->magic = ring_magic;
  h_->slot_bytes = static_cast<std::uint32_t>(slot_bytes);
  h_->capacity = capacity;
  h_->max_message = max_message;
  pthread_mutexattr_t attr;
  ::pthread_mutexattr_init(&attr);
  ::pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  ::pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  ::pthread_mutex_init(&h_->mutex, &attr);
  ::pthread_mutexattr_destroy(&attr);
}

shm_ring::shm_ring(int fd) {
  fd_ = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "proc::queue: inherited descriptor");
  struct ::stat st {};
  if (::fstat(fd_, &st) != 0 || static_cast<std::size_t>(st.st_size) < sizeof(ring_header)) {
    ::close(fd_);
    throw std::runtime_error("proc::queue: inherited descriptor is not a queue");
  }
  map(static_cast<std::size_t>(st.st_size));
  if (h_->magic != ring_magic) {
    ::munmap(h_, bytes_);
    ::close(fd_);
    throw std::runtime_error("proc::queue: inherited descriptor is not a queue");
  }
}

void shm_ring::map(std::size_t bytes) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
  if (p == MAP_FAILED) {
    const int e = errno;
    ::close(fd_);
    throw std::system_error(e, std::generic_category(), "mmap of a queue");
  }
  bytes_ = bytes;
  h_ = static_cast<ring_header*>(p);
}

shm_ring::~shm_ring() {
  for (auto& w : watchers_) w.reset();  // they use the mapping
  ::munmap(h_, bytes_);
  ::close(fd_);
}

bool shm_ring::put(std::string_view message, const std::chrono::steady_clock::time_point* deadline) {
  if (message.size() > h_->max_message) {
    throw std::length_error("proc::queue: message of " + std::to_string(message.size()) +
                            " bytes exceeds the queue's slot size of " + std::to_string(h_->max_message));
  }
  auto copy = [](void* context, char* dst, std::size_t) -> std::size_t {
    auto* m = static_cast<std::string_view*>(context);
    if (!m->empty()) std::memcpy(dst, m->data(), m->size());
    return m->size();
  };
  return put_with(copy, &message, deadline);
}

bool shm_ring::put_with(writer_fn write, void* context, const std::chrono::steady_clock::time_point* deadline) {
  bool spun = false;
  for (;;) {
    std::uint32_t seen = 0;
    {
      ring_lock lock(h_);
      if (h_->closed.load(std::memory_order_relaxed)) throw channel_closed_error("proc::queue is closed");
      const std::uint64_t count = h_->count.load(std::memory_order_relaxed);
      if (count < h_->capacity) {
        char* s = slot(h_, h_->head + count);
        const std::size_t n = write(context, s + 4, h_->max_message);
        const auto n32 = static_cast<std::uint32_t>(n);
        std::memcpy(s, &n32, 4);
        h_->count.store(count + 1, std::memory_order_release);
        h_->not_empty.fetch_add(1, std::memory_order_release);
        wake_sleepers(h_->not_empty, h_->empty_waiters, h_->async_empty_waiters);
        return true;
      }
      if (expired(deadline)) return false;
      if (spun) {
        seen = h_->not_full.load(std::memory_order_relaxed);
        h_->full_waiters.fetch_add(1, std::memory_order_relaxed);
      }
    }
    if (!spun) {  // as in get_with: a consumer is usually about to make room
      spun = true;
      spin_until([&] {
        return h_->count.load(std::memory_order_acquire) < h_->capacity || h_->closed.load(std::memory_order_relaxed);
      });
      continue;
    }
    futex_wait_shared(h_->not_full, seen, deadline);
    h_->full_waiters.fetch_sub(1, std::memory_order_relaxed);
    spun = false;
  }
}

bool shm_ring::get(std::string& out, const std::chrono::steady_clock::time_point* deadline) {
  auto copy = [](void* context, std::string_view m) { static_cast<std::string*>(context)->assign(m); };
  return get_with(copy, &out, deadline);
}

bool shm_ring::get_with(reader_fn read, void* context, const std::chrono::steady_clock::time_point* deadline) {
  bool spun = false;
  for (;;) {
    std::uint32_t seen = 0;
    {
      ring_lock lock(h_);
      const std::uint64_t count = h_->count.load(std::memory_order_relaxed);
      if (count > 0) {
        const char* s = slot(h_, h_->head);
        std::uint32_t n;
        std::memcpy(&n, s, 4);
        struct release {
          ring_header* h;
          std::uint64_t count;
          ~release() {
            ++h->head;
            h->count.store(count - 1, std::memory_order_release);
            h->not_full.fetch_add(1, std::memory_order_release);
            wake_sleepers(h->not_full, h->full_waiters, h->async_full_waiters);
          }
        } done{h_, count};
        read(context, std::string_view(s + 4, std::min<std::size_t>(n, h_->max_message)));
        return true;
      }
      if (h_->closed.load(std::memory_order_relaxed) || expired(deadline)) return false;
      if (spun) {
        seen = h_->not_empty.load(std::memory_order_relaxed);
        h_->empty_waiters.fetch_add(1, std::memory_order_relaxed);
      }
    }
    if (!spun) {
      // A producer in another process is often well under a microsecond from its next put:
      // look briefly, unregistered (so it need not wake us), before paying for a sleep.
      spun = true;
      spin_until([&] { return h_->count.load(std::memory_order_acquire) > 0 || h_->closed.load(std::memory_order_relaxed); });
      continue;
    }
    futex_wait_shared(h_->not_empty, seen, deadline);
    h_->empty_waiters.fetch_sub(1, std::memory_order_relaxed);
    spun = false;  // woken: worth one more short look if another consumer took the value
  }
}

bool shm_ring::wait_readable(const std::chrono::steady_clock::time_point* deadline) {
  for (;;) {
    std::uint32_t seen;
    {
      ring_lock lock(h_);
      if (h_->count.load(std::memory_order_relaxed) > 0 || h_->closed.load(std::memory_order_relaxed)) return true;
      if (expired(deadline)) return false;
      seen = h_->not_empty.load(std::memory_order_relaxed);
      h_->empty_waiters.fetch_add(1, std::memory_order_relaxed);
    }
    futex_wait_shared(h_->not_empty, seen, deadline);
    h_->empty_waiters.fetch_sub(1, std::memory_order_relaxed);
    // A reader that only watches must not swallow the single wake-up meant for a taker.
    futex_wake_shared(h_->not_empty, 1);
  }
}

void shm_ring::close() {
  {
    ring_lock lock(h_);
    h_->closed.store(1, std::memory_order_relaxed);
    h_->not_empty.fetch_add(1, std::memory_order_release);
    h_->not_full.fetch_add(1, std::memory_order_release);
  }
  futex_wake_shared(h_->not_empty, INT_MAX);
  futex_wake_shared(h_->not_full, INT_MAX);
}

ring_watcher& shm_ring::watcher(ring_readiness readiness) {
  std::lock_guard lock(watchers_mutex_);
  auto& w = watchers_[static_cast<int>(readiness)];
  if (!w) w = std::make_unique<ring_watcher>(h_, readiness);
  return *w;
}

void shm_ring::watch(ring_readiness readiness, ring_wake_hook& hook) { watcher(readiness).add(hook); }

bool shm_ring::unwatch(ring_readiness readiness, ring_wake_hook& hook) noexcept {
  ring_watcher* w = nullptr;
  {
    std::lock_guard lock(watchers_mutex_);
    w = watchers_[static_cast<int>(readiness)].get();
  }
  return w != nullptr && w->remove(hook);
}

std::size_t shm_ring::watched() const noexcept {
  std::lock_guard lock(watchers_mutex_);
  std::size_t n = 0;
  for (const auto& w : watchers_) n += w ? w->count() : 0;
  return n;
}

std::uint64_t shm_ring::watcher_wakeups() const noexcept {
  std::lock_guard lock(watchers_mutex_);
  std::uint64_t n = 0;
  for (const auto& w : watchers_) n += w ? w->wakeups() : 0;
  return n;
}

std::size_t shm_ring::sleeping_watchers() const noexcept {
  return h_->async_empty_waiters.load(std::memory_order_relaxed) + h_->async_full_waiters.load(std::memory_order_relaxed);
}

bool shm_ring::closed() const noexcept { return h_->closed.load(std::memory_order_acquire) != 0; }

std::size_t shm_ring::size() const { return h_->count.load(std::memory_order_acquire); }

std::size_t shm_ring::capacity() const noexcept { return h_->capacity; }
std::size_t shm_ring::max_message() const noexcept { return h_->max_message; }

}  // namespace trident::proc::detail
