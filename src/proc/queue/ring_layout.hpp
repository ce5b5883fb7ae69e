#pragma once
// The shared-memory ring of proc::queue as both of its files see it: the layout of the memfd,
// the state words of a slot, and the looks at each end of the ring (`probe_put`, `probe_get`),
// with the waiting helpers they share. Private to src/proc/queue/: shm_ring.cpp (the ring's
// protocol, put and get, the recovery of a dead claimer) describes all of it at its top;
// ring_watcher.cpp (the thread that wakes coroutines) reads the ring through it. Not part of
// any public header on purpose: the layout is the ring's alone.
//
// Thread safety: everything here works on the shared mapping with atomics only, from any thread
// of any process that maps the ring; `stall_watch` belongs to one waiter.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "trident/proc/detail/shm_ring.hpp"

namespace trident::proc::detail {

using time_point = std::chrono::steady_clock::time_point;

struct alignas(64) ring_header {
  // The geometry, written once at creation and read once by each process that attaches, which
  // checks it and keeps its own copy (`ring_ref`): never read again, since another process may
  // overwrite it at any time.
  std::uint32_t magic;
  std::uint32_t created_slot_bytes;  // sizeof(ring_slot) + max_message, rounded up to 64
  std::uint64_t created_capacity;
  std::uint64_t created_max_message;
  std::atomic<std::uint32_t> closed;            // set once by close(), read by everyone
  alignas(64) std::atomic<std::uint64_t> tail;  // next position to put: a hint, may lag
  alignas(64) std::atomic<std::uint64_t> head;  // next position to get: a hint, may lag
  alignas(64) std::atomic<std::uint32_t> not_empty;
  std::atomic<std::uint32_t> empty_waiters;
  std::atomic<std::uint32_t> async_empty_waiters;  // watchers among empty_waiters
  std::atomic<std::uint64_t> empty_wake;           // the sleepers' wake-up: none, a ticket, or done
  alignas(64) std::atomic<std::uint32_t> not_full;
  std::atomic<std::uint32_t> full_waiters;
  std::atomic<std::uint32_t> async_full_waiters;  // watchers among full_waiters
  std::atomic<std::uint64_t> full_wake;
  std::atomic<std::uint64_t> wake_tickets;  // numbers the wake-ups of both directions
};

struct ring_slot {
  std::atomic<std::uint64_t> seq;          // free(p), ready(p) or a claim (shm_ring.cpp)
  std::atomic<std::uint64_t> owner_tag;    // the claim whose claimer wrote owner_start
  std::atomic<std::uint64_t> owner_start;  // that claimer's start time (/proc/<pid>/stat field 22)
  std::uint32_t length;                    // bytes of the message, or abandoned_length
  std::uint32_t reserved;
};
static_assert(sizeof(ring_slot) == 32);
static_assert(sizeof(ring_header) % 64 == 0);
static_assert(std::atomic<std::uint64_t>::is_always_lock_free && std::atomic<std::uint32_t>::is_always_lock_free);

/// The ring's protocol helpers (see shm_ring.cpp), shared by the ring and its watcher.
namespace ring {

constexpr std::uint64_t wake_none = 0;
constexpr std::uint64_t wake_done = ~std::uint64_t{0};
constexpr std::uint64_t claim_bit = std::uint64_t{1} << 63;
constexpr std::uint64_t consumer_bit = std::uint64_t{1} << 62;
constexpr std::uint64_t position_mask = (std::uint64_t{1} << 30) - 1;

constexpr std::uint64_t free_seq(std::uint64_t pos) { return 2 * pos; }
constexpr std::uint64_t ready_seq(std::uint64_t pos) { return 2 * pos + 1; }
constexpr std::uint64_t claim_word(bool consumer, std::uint64_t pos, std::uint32_t pid) {
  return claim_bit | (consumer ? consumer_bit : 0) | ((pos & position_mask) << 32) | pid;
}
constexpr bool is_claim(std::uint64_t v) { return (v & claim_bit) != 0; }
constexpr bool is_claim_on(std::uint64_t v, bool consumer, std::uint64_t pos) {
  return is_claim(v) && ((v & consumer_bit) != 0) == consumer && ((v >> 32) & position_mask) == (pos & position_mask);
}
constexpr std::uint32_t claimer_pid(std::uint64_t v) { return static_cast<std::uint32_t>(v); }

inline ring_slot* slot_at(const ring_ref& h, std::uint64_t pos) {
  return reinterpret_cast<ring_slot*>(reinterpret_cast<char*>(h.shared + 1) + (pos % h.capacity) * h.slot_bytes);
}

/// A process as a claim names it: its pid and its start time (/proc/<pid>/stat field 22).
struct identity {
  std::uint32_t pid = 0;
  std::uint64_t start = 0;
};

/// This process's pid and start time, read once (and again in a forked child): no system call
/// on the fast path.
const identity& self() noexcept;

/// Sleeps while `word == expected`, until `deadline` (nullptr: forever). Shared futex. True if
/// it returned because the deadline passed.
bool futex_wait_shared(std::atomic<std::uint32_t>& word, std::uint32_t expected, const time_point* deadline);
/// Wakes up to `n` sleepers on `word`, in any process. Shared futex.
void futex_wake_shared(std::atomic<std::uint32_t>& word, int n);

/// A direction's futex word and the counters of who sleeps on it.
struct wait_words {
  std::atomic<std::uint32_t>& word;
  std::atomic<std::uint32_t>& sleepers;
  std::atomic<std::uint32_t>& watchers;
  std::atomic<std::uint64_t>& wake;  // wake_none, a notifier's ticket, or wake_done
  std::atomic<std::uint64_t>& tickets;

  /// Registers a sleeper (or a watcher about to look): the caller then re-checks the ring and
  /// sleeps on the word value it read *before* this.
  void enter(bool watcher) const {
    sleepers.fetch_add(1, std::memory_order_seq_cst);
    if (watcher) watchers.fetch_add(1, std::memory_order_seq_cst);
    wake.store(wake_none, std::memory_order_seq_cst);  // a new sleeper needs a wake-up of its own
  }
  void leave(bool watcher) const {
    if (watcher) watchers.fetch_sub(1, std::memory_order_relaxed);
    sleepers.fetch_sub(1, std::memory_order_relaxed);
  }
};

inline wait_words words_for(const ring_ref& h, ring_readiness readiness) {
  if (readiness == ring_readiness::readable) {
    return {h->not_empty, h->empty_waiters, h->async_empty_waiters, h->empty_wake, h->wake_tickets};
  }
  return {h->not_full, h->full_waiters, h->async_full_waiters, h->full_wake, h->wake_tickets};
}

/// What a producer or consumer found at its end of the ring.
struct probe {
  /// corrupt: no slot holds a position near the hint (another process wrote the shared memory).
  enum kind_t { claimed, ready, blocked, corrupt } kind = blocked;
  std::uint64_t pos = 0;        // the position it looked at
  ring_slot* slot = nullptr;    // that position's slot
  std::uint64_t seen = 0;       // blocked: the slot's word that blocks it
  std::uint64_t claim_pos = 0;  // blocked behind a claim: the position that claim is for
  bool empty = false;           // consumer, blocked: nothing is being written for `pos`
};

/// The most positions a probe passes before it takes the ring for corrupt. A hint lags the slots
/// only by the claims whose claimer has not moved it yet (or died before it could), and a probe
/// passes a position only after someone else took it, so a sound ring never comes near this; a
/// ring whose slots or hints another process overwrote would otherwise be walked for ever (up to
/// 2^64 positions), past any deadline.
inline std::uint64_t max_probe_steps(const ring_ref& h) { return 4 * h.capacity + (std::uint64_t{1} << 16); }

/// Moves hint `index` past `pos` (it may already be past) and returns where to look next.
inline std::uint64_t help_past(std::atomic<std::uint64_t>& index, std::uint64_t pos) {
  std::uint64_t expected = pos;
  if (index.compare_exchange_strong(expected, pos + 1, std::memory_order_relaxed)) return pos + 1;
  return std::max(expected, pos + 1);
}

/// The producer's end: claims a free slot (`claim`) or reports it free (`ready`), or `blocked`
/// behind the previous lap's message or claim (the ring is full).
inline probe probe_put(const ring_ref& h, bool claim, std::uint32_t pid) {
  const std::uint64_t cap = h.capacity;
  std::uint64_t pos = h->tail.load(std::memory_order_relaxed);
  for (std::uint64_t steps = 0;; ++steps) {
    ring_slot* s = slot_at(h, pos);
    if (steps > max_probe_steps(h)) return {probe::corrupt, pos, s};
    std::uint64_t v = s->seq.load(std::memory_order_seq_cst);
    if (v == free_seq(pos)) {
      if (!claim) return {probe::ready, pos, s};
      if (s->seq.compare_exchange_strong(v, claim_word(false, pos, pid), std::memory_order_seq_cst)) {
        help_past(h->tail, pos);
        return {probe::claimed, pos, s};
      }
      continue;
    }
    if (pos >= cap &&
        (v == ready_seq(pos - cap) || is_claim_on(v, false, pos - cap) || is_claim_on(v, true, pos - cap))) {
      return {probe::blocked, pos, s, v, pos - cap};
    }
    pos = help_past(h->tail, pos);  // slot `pos` is past free(pos): someone claimed `pos`
  }
}

/// The consumer's end: claims the oldest message (`claim`) or reports one there (`ready`), or
/// `blocked`: empty, or behind a producer still writing the oldest message.
inline probe probe_get(const ring_ref& h, bool claim, std::uint32_t pid) {
  const std::uint64_t cap = h.capacity;
  std::uint64_t pos = h->head.load(std::memory_order_relaxed);
  for (std::uint64_t steps = 0;; ++steps) {
    ring_slot* s = slot_at(h, pos);
    if (steps > max_probe_steps(h)) return {probe::corrupt, pos, s};
    std::uint64_t v = s->seq.load(std::memory_order_seq_cst);
    if (v == ready_seq(pos)) {
      if (!claim) return {probe::ready, pos, s};
      if (s->seq.compare_exchange_strong(v, claim_word(true, pos, pid), std::memory_order_seq_cst)) {
        help_past(h->head, pos);
        return {probe::claimed, pos, s};
      }
      continue;
    }
    if (v == free_seq(pos)) return {probe::blocked, pos, s, v, 0, true};
    if (is_claim_on(v, false, pos)) return {probe::blocked, pos, s, v, pos, false};
    if (pos >= cap && is_claim_on(v, true, pos - cap)) {
      return {probe::blocked, pos, s, v, pos - cap, true};  // still being read a lap ago: empty
    }
    pos = help_past(h->head, pos);  // slot `pos` is past ready(pos): someone took `pos`
  }
}

/// Tracks how long a waiter has been stuck behind one claim, to check its claimer in time.
struct stall_watch {
  ring_slot* slot = nullptr;
  std::uint64_t claim = 0;
  time_point since{};

  /// When the claim `claim` on `s` is due to be checked.
  time_point due(ring_slot* s, std::uint64_t c, time_point now) {
    if (s != slot || c != claim) {
      slot = s;
      claim = c;
      since = now;
    }
    return since + shm_ring::stall_check_interval;
  }
  /// After a sleep: if the claim that blocked `p` is still there and due, checks its claimer
  /// and takes the slot back if it died.
  void check(const ring_ref& h, const probe& p, const identity& me);
};

/// Spins (with `pause`) until the slot that blocked `p` changes or the ring's `closed` differs
/// from `was_closed`: for at most `claim_spin_budget` behind a claim, `spin_budget` on an empty
/// or full ring; not at all on a machine with one CPU online (shm_ring.cpp says why).
void spin_for_change(const ring_ref& h, const probe& p, bool was_closed);

}  // namespace ring
}  // namespace trident::proc::detail
