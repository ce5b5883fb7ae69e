// The watcher of proc::queue's shared-memory ring: how a coroutine (proc/run_in.hpp) waits on
// the ring without blocking a thread. The ring itself, its layout and its protocol are in
// shm_ring.cpp; this file works on the same private layout (ring_layout.hpp).
//
// Coroutines (proc/run_in.hpp) do not block a thread each. A coroutine that finds the ring
// empty (full) leaves a `ring_wake_hook` with this process's watcher for that direction: one
// thread per ring handle and direction, started on first use, that sleeps on the same futex
// word as blocked threads do, with no timeout (but `stall_check_interval` while a claimed slot
// blocks it):
//   1. The watcher reads the word, registers as a waiter (`*_waiters`, and `async_*` for the
//      statistics), then looks at the ring. If it is ready it unregisters
//      and fires every hook (each posts a wake-up to its loop) and goes back to waiting for
//      hooks. Otherwise it sleeps in FUTEX_WAIT on the word.
//   2. A producer (consumer) that finds sleepers bumps the word and wakes *all* of them, not
//      one: a single wake-up could land on a watcher whose coroutine then does not take the
//      message (another consumer did, or it was cancelled), and a blocked thread would sleep
//      on beside a message. Every woken sleeper re-checks.
//   3. Woken, the watcher unregisters and goes to 1.
//   4. A coroutine cancelled while waiting withdraws its hook; when none is left the watcher is
//      poked (the word bumped, sleepers woken: they re-check and sleep again) so that it stops
//      being counted as a sleeper. The destructor pokes it the same way to stop it.
// Why a futex and not an eventfd inherited with the memfd: an eventfd's count is consumed by
// whichever process reads it first, so with loops in several processes one would swallow the
// wake-up another needed; a futex word wakes every sleeper that asked, in any process.

#include "ring_watcher.hpp"

#include <climits>
#include <memory>

#include "ring_layout.hpp"

namespace trident::proc::detail {

using namespace ring;

namespace {

/// The ring as the coroutines of direction `readiness` need it: ready, or what blocks them.
probe look(const ring_ref& h, ring_readiness readiness, const identity& me) {
  if (readiness == ring_readiness::readable) return probe_get(h, false, me.pid);
  return probe_put(h, false, me.pid);
}

}  // namespace

ring_watcher::ring_watcher(const ring_ref& h, ring_readiness readiness)
    : h_(h), readiness_(readiness), thread_([this] { run(); }) {}

ring_watcher::~ring_watcher() {
  {
    std::lock_guard lock(mutex_);
    stop_requested_.store(true, std::memory_order_relaxed);  // under mutex_: no lost notify
  }
  hooks_changed_.notify_one();
  poke();
  thread_.join();
}

void ring_watcher::add(ring_wake_hook& hook) {
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

bool ring_watcher::remove(ring_wake_hook& hook) noexcept {
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

/// Makes a sleeping (or about to sleep) watcher re-check: the watcher reads the word before
/// it looks at `stop_requested_` and the hooks, so either it sees what changed or its
/// FUTEX_WAIT on the old value returns at once.
void ring_watcher::poke() noexcept {
  const wait_words w = words_for(h_, readiness_);
  w.word.fetch_add(1, std::memory_order_seq_cst);
  futex_wake_shared(w.word, INT_MAX);
}

/// Assumes the caller holds `mutex_`.
void ring_watcher::unlink(ring_wake_hook& hook) noexcept {
  if (hook.prev != nullptr)
    hook.prev->next = hook.next;
  else
    head_ = hook.next;
  if (hook.next != nullptr) hook.next->prev = hook.prev;
  hook.next = hook.prev = nullptr;
  hook.linked = false;
  count_.fetch_sub(1, std::memory_order_relaxed);
}

void ring_watcher::run() noexcept {
  const identity& me = self();
  const wait_words w = words_for(h_, readiness_);
  stall_watch stall;
  bool spun = false;
  std::unique_lock lock(mutex_);
  for (;;) {
    hooks_changed_.wait(lock, [this] { return stop_requested_.load(std::memory_order_relaxed) || head_ != nullptr; });
    if (stop_requested_.load(std::memory_order_relaxed)) return;
    lock.unlock();
    // Step 1: the word first, then everything it guards.
    const std::uint32_t seen = w.word.load(std::memory_order_seq_cst);
    w.enter(true);
    const bool idle = stop_requested_.load(std::memory_order_seq_cst) || count_.load(std::memory_order_seq_cst) == 0;
    const probe p = idle ? probe{} : look(h_, readiness_, me);
    // A corrupt ring wakes its coroutines too: their own get or put reports it.
    const bool ready =
        idle || h_->closed.load(std::memory_order_seq_cst) != 0 || p.kind == probe::ready || p.kind == probe::corrupt;
    if (!ready && is_claim(p.seen) && !spun) {
      // Behind a claim the claimer is usually a few microseconds from publishing
      // (releasing): look for that unregistered, as a blocked thread does, not asleep.
      w.leave(true);
      spun = true;
      spin_for_change(h_, p, false);
      lock.lock();
      continue;
    }
    spun = false;
    if (!ready) {
      const time_point* until = nullptr;
      time_point stall_due;
      if (is_claim(p.seen)) {
        stall_due = stall.due(p.slot, p.seen, std::chrono::steady_clock::now());
        until = &stall_due;
      }
      const bool timed_out = futex_wait_shared(w.word, seen, until);
      w.leave(true);
      if (!timed_out) wakeups_.fetch_add(1, std::memory_order_relaxed);
      stall.check(h_, p, me);
      lock.lock();
      continue;  // step 3
    }
    w.leave(true);
    lock.lock();
    if (idle) continue;
    while (head_ != nullptr) {
      ring_wake_hook* hook = head_;
      unlink(*hook);
      hook->fire(hook);
    }
  }
}

// --- the ring's side: its watchers, one per direction, started on first use ------------------

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
  return h_->async_empty_waiters.load(std::memory_order_relaxed) +
         h_->async_full_waiters.load(std::memory_order_relaxed);
}

}  // namespace trident::proc::detail
