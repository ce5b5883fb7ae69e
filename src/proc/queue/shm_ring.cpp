// The shared-memory ring of proc::queue: a lock-free bounded MPMC ring that survives a process
// killed in the middle of a put or a get.
//
// Layout of the memfd: a header (constants on one cache line; `tail`, `head`, the readable and
// the writable futex words each on a line of their own), then `capacity` slots, each a 32-byte
// slot header and `max_message` bytes, rounded up to whole cache lines so that neighbouring
// slots and the indices never share a line.
//
// Slots (Vyukov's bounded MPMC ring, with the claim in the slot's own sequence word). A slot's
// `seq` walks, for the positions p, p + capacity, p + 2 capacity, ... that map to it:
//   free(p) = 2p  ->  producer claim(p, pid)  ->  ready(p) = 2p + 1  ->  consumer claim(p, pid)
//   ->  free(p + capacity)  -> ...
// A claim is a word with the top bit set, a consumer bit, the low 30 bits of p and the
// claimer's pid. A producer reads `tail` (p), and if slot p is free(p) claims it with one CAS;
// a consumer reads `head` (p), and if slot p is ready(p) claims it with one CAS. `tail` and
// `head` are hints, each advanced with a CAS by the claimer right after its claim, or by
// anyone who finds slot p already past the state it was looking for ("helping"), so a claimer
// that dies before moving the hint stalls nobody. The bytes are written (read) after the claim
// and outside any lock; publishing (releasing) is one store of ready(p) (free(p + capacity)).
// A producer that finds slot p still in the previous lap (ready or claimed for p - capacity) has
// a full ring; a consumer that finds it free(p), or still read for p - capacity, has an empty
// one; a consumer that finds it claimed by a producer for p waits for that producer.
//
// A consumer's claim wakes producers asleep on a full ring, as its release does (only if any
// sleep): a producer asleep behind the message then sees the claim and watches its claimer, so
// a consumer that dies mid-read cannot leave it asleep for ever. Woken, a producer (or a
// watcher) spins for the release before it sleeps again, so the release rarely finds anyone
// asleep: the wake-up comes earlier rather than twice. A producer's claim wakes nobody: a
// consumer asleep on an empty ring is not waiting for a message that will never come, and the
// next put (which wakes it) or close() leads it to the dead claim.
//
// A process killed holding a claim. A waiter stuck behind a claimed slot (a consumer behind a
// producer's unfinished message, a producer behind a consumer still reading the message in the
// slot it needs) sleeps at most `stall_check_interval` at a time and, each time the same claim
// is still there, asks whether the claimer lives: its /proc/<pid>/stat is gone, or shows a
// zombie (state Z, one thread: every thread died), or a start time (field 22) other than the
// one the claimer wrote next to its claim (the pid was reused). Only then is the claimer dead:
// a live process, however slow, is never declared dead, so no writer can come back to a slot
// taken from it. Without /proc, `kill(pid, 0) == ESRCH` decides. The waiter then takes the
// slot back with a CAS from the dead claim (so two waiters cannot both do it):
//   - a producer's claim becomes the waiter's own producer claim, the slot's length is set to
//     `abandoned_length`, and the slot is published; consumers release such a slot without
//     delivering it. Lost: the one message the dead producer was writing, none of whose bytes
//     are ever delivered (torn or whole). A writer callback that throws abandons its slot the
//     same way.
//   - a consumer's claim becomes free(p + capacity). Lost: the message the dead consumer was
//     reading (it was taken; it is delivered to nobody else).
// Nothing else is lost or delivered twice, and the slot serves again, so the capacity is whole.
// A call that does not wait (a zero or past deadline) does not check claimers; a coroutine's
// watcher and any blocked call do.
//
// Waiting. `not_empty` and `not_full` are futex sequence words, `*_waiters` count sleepers. A
// waiter first spins on the slot that blocks it for at most `spin_budget` (`claim_spin_budget`
// behind a claim; no registration, so nobody needs to wake it; `spin_for_change` says why the
// budgets differ), then reads the word, registers (`*_waiters`, seq_cst), re-checks
// the slot and `closed`, and only if nothing changed sleeps in FUTEX_WAIT_BITSET (absolute
// CLOCK_MONOTONIC deadline, *shared* futex: keyed by the page, not the process) on the value it
// read before re-checking. A producer publishes (seq_cst store), then reads `empty_waiters`
// (seq_cst): either it sees the registration, bumps the word and wakes every sleeper, or the
// waiter's re-check sees the message. No wake-up is lost, and with nobody asleep a put or get
// makes no system call. A woken sleeper stays counted until it runs, which on a busy machine
// can take a while; so that a producer does not make a FUTEX_WAKE for every message meanwhile,
// the first notifier marks the wake-up done (`*_wake`) and the others skip it until a sleeper
// registers again (`notify` below: a notifier killed half-way leaves no one asleep). `close()` sets `closed`, bumps both words and wakes everyone; a put that claimed
// its slot before it saw `closed` is delivered (consumers wait for a claimed slot even when
// closed), one that sees `closed` after claiming abandons the slot and throws.
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
//
// One job, hence one file over 700 lines: the ring's protocol. About 115 lines are the protocol
// above; the rest are its two ends (put, get), the recovery of a dead claimer, and the watcher
// thread, which is the protocol's wake-up for coroutines (steps 1, 3 and 4 above) and works on
// the same private layout and helpers (`ring_header`, `probe_get`, the futex words), which are
// not part of any header on purpose.

#include "trident/proc/detail/shm_ring.hpp"

#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <limits>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "trident/core/errors.hpp"
#include "trident/proc/errors.hpp"

namespace trident::proc::detail {

using time_point = std::chrono::steady_clock::time_point;

struct alignas(64) ring_header {
  // Written once at creation (`closed` once more by close()), read by everyone.
  std::uint32_t magic;
  std::uint32_t slot_bytes;  // sizeof(ring_slot) + max_message, rounded up to 64
  std::uint64_t capacity;
  std::uint64_t max_message;
  std::atomic<std::uint32_t> closed;
  alignas(64) std::atomic<std::uint64_t> tail;  // next position to put: a hint, may lag
  alignas(64) std::atomic<std::uint64_t> head;  // next position to get: a hint, may lag
  alignas(64) std::atomic<std::uint32_t> not_empty;
  std::atomic<std::uint32_t> empty_waiters;
  std::atomic<std::uint32_t> async_empty_waiters;  // watchers among empty_waiters
  std::atomic<std::uint64_t> empty_wake;  // the sleepers' wake-up: none, a ticket, or done
  alignas(64) std::atomic<std::uint32_t> not_full;
  std::atomic<std::uint32_t> full_waiters;
  std::atomic<std::uint32_t> async_full_waiters;  // watchers among full_waiters
  std::atomic<std::uint64_t> full_wake;
  std::atomic<std::uint64_t> wake_tickets;  // numbers the wake-ups of both directions
};

struct ring_slot {
  std::atomic<std::uint64_t> seq;          // free(p), ready(p) or a claim (top of the file)
  std::atomic<std::uint64_t> owner_tag;    // the claim whose claimer wrote owner_start
  std::atomic<std::uint64_t> owner_start;  // that claimer's start time (/proc/<pid>/stat field 22)
  std::uint32_t length;                    // bytes of the message, or abandoned_length
  std::uint32_t reserved;
};
static_assert(sizeof(ring_slot) == 32);
static_assert(sizeof(ring_header) % 64 == 0);
static_assert(std::atomic<std::uint64_t>::is_always_lock_free && std::atomic<std::uint32_t>::is_always_lock_free);

namespace {

constexpr std::uint32_t ring_magic = 0x52445254;  // "TRDR": the lock-free layout
constexpr std::uint32_t abandoned_length = 0xFFFFFFFFu;
constexpr std::uint64_t wake_none = 0;
constexpr std::uint64_t wake_done = ~std::uint64_t{0};
constexpr std::uint64_t claim_bit = std::uint64_t{1} << 63;
constexpr std::uint64_t consumer_bit = std::uint64_t{1} << 62;
constexpr std::uint64_t position_mask = (std::uint64_t{1} << 30) - 1;
constexpr std::size_t max_capacity = std::size_t{1} << 28;  // well apart from position_mask

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

ring_slot* slot_at(ring_header* h, std::uint64_t pos) {
  return reinterpret_cast<ring_slot*>(reinterpret_cast<char*>(h + 1) + (pos % h->capacity) * h->slot_bytes);
}
char* payload(ring_slot* s) { return reinterpret_cast<char*>(s + 1); }

// --- who is alive ---------------------------------------------------------------------------

struct stat_fields {
  char state = '?';
  long threads = 0;
  std::uint64_t start = 0;
};

/// Reads state (field 3), num_threads (20) and starttime (22) of /proc/<pid>/stat, without
/// allocating (it also runs in a child after fork). False if there is no such entry.
bool read_stat(std::uint32_t pid, stat_fields& out) noexcept {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%u/stat", pid);
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[1024];
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  const char* p = std::strrchr(buf, ')');  // the command name may hold spaces and ')'
  if (p == nullptr) return false;
  ++p;
  for (int field = 3; field <= 22; ++field) {
    while (*p == ' ') ++p;
    if (*p == '\0') return false;
    if (field == 3) out.state = *p;
    if (field == 20) out.threads = std::strtol(p, nullptr, 10);
    if (field == 22) out.start = std::strtoull(p, nullptr, 10);
    while (*p != ' ' && *p != '\0') ++p;
  }
  return true;
}

struct identity {
  std::uint32_t pid = 0;
  std::uint64_t start = 0;
};
identity self_identity;

void refresh_identity() noexcept {
  self_identity.pid = static_cast<std::uint32_t>(::getpid());
  stat_fields f;
  self_identity.start = read_stat(self_identity.pid, f) ? f.start : 0;
}

/// This process's pid and start time, read once (and again in a forked child): no system call
/// on the fast path.
const identity& self() noexcept {
  static const bool ready = [] {
    refresh_identity();
    ::pthread_atfork(nullptr, nullptr, refresh_identity);
    return true;
  }();
  (void)ready;
  return self_identity;
}

/// Whether the claimer of `claim`, found on `s`, is certainly dead (see the top of the file).
bool claimer_dead(const ring_slot& s, std::uint64_t claim) noexcept {
  const std::uint32_t pid = claimer_pid(claim);
  stat_fields f;
  if (!read_stat(pid, f)) return ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
  if ((f.state == 'Z' || f.state == 'X') && f.threads <= 1) return true;
  if (s.owner_tag.load(std::memory_order_acquire) == claim) {
    const std::uint64_t start = s.owner_start.load(std::memory_order_relaxed);
    if (start != 0 && f.start != 0 && start != f.start) return true;  // the pid was reused
  }
  return false;
}

void record_owner(ring_slot* s, std::uint64_t claim, const identity& me) noexcept {
  s->owner_start.store(me.start, std::memory_order_relaxed);
  s->owner_tag.store(claim, std::memory_order_release);
}

// --- fault injection (tests) ----------------------------------------------------------------

std::atomic<int> armed_fault{0};
std::atomic<std::uint64_t> fault_countdown{0};

[[gnu::noinline, gnu::cold]] void fault_passage() noexcept {
  if (fault_countdown.fetch_sub(1, std::memory_order_relaxed) == 1) {
    ::kill(::getpid(), SIGKILL);
    for (;;) ::pause();
  }
}

inline void fault_point(ring_fault_point point) noexcept {
  if (armed_fault.load(std::memory_order_relaxed) == static_cast<int>(point)) [[unlikely]] fault_passage();
}

// --- futex ------------------------------------------------------------------------------------

/// Sleeps while `word == expected`, until `deadline` (nullptr: forever). Shared futex. True if
/// it returned because the deadline passed.
bool futex_wait_shared(std::atomic<std::uint32_t>& word, std::uint32_t expected, const time_point* deadline) {
  timespec ts{};
  timespec* tsp = nullptr;
  if (deadline != nullptr) {
    // steady_clock is CLOCK_MONOTONIC on Linux, which FUTEX_WAIT_BITSET takes as absolute time.
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline->time_since_epoch()).count();
    ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    tsp = &ts;
  }
  const long rc = ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_BITSET, expected, tsp,
                            nullptr, FUTEX_BITSET_MATCH_ANY);
  return rc != 0 && errno == ETIMEDOUT;
}

void futex_wake_shared(std::atomic<std::uint32_t>& word, int n) {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE, n, nullptr, nullptr, 0);
}

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

wait_words words_for(ring_header* h, ring_readiness readiness) {
  if (readiness == ring_readiness::readable) {
    return {h->not_empty, h->empty_waiters, h->async_empty_waiters, h->empty_wake, h->wake_tickets};
  }
  return {h->not_full, h->full_waiters, h->async_full_waiters, h->full_wake, h->wake_tickets};
}

/// After a publish (release, or a consumer's claim): wakes every sleeper of that direction,
/// unless there is none or they have all been woken since the last of them registered. Step 2
/// of the coroutine protocol. The caller's seq_cst store and these seq_cst loads pair with a
/// waiter's seq_cst registration and re-check.
///
/// `wake` spares the system call to a producer that publishes many messages while a woken
/// consumer is still on its way to a CPU (it stays counted in `*_waiters` until it runs): the
/// first notifier takes a ticket into `wake`, bumps the word, wakes everyone and marks the
/// wake-up done, unless a sleeper registered meanwhile (it stored `wake_none`). A notifier that
/// finds another's ticket there wakes too: that one may still be on its way, or have died
/// before its FUTEX_WAKE, which must not leave anyone asleep.
void notify(ring_header* h, ring_readiness readiness) {
  const wait_words w = words_for(h, readiness);
  if (w.sleepers.load(std::memory_order_seq_cst) == 0) return;
  std::uint64_t state = w.wake.load(std::memory_order_seq_cst);
  if (state == wake_done) return;
  std::uint64_t ticket = 0;
  if (state == wake_none) {
    ticket = w.tickets.fetch_add(1, std::memory_order_relaxed) + 1;  // never wake_none or wake_done
    if (!w.wake.compare_exchange_strong(state, ticket, std::memory_order_seq_cst)) ticket = 0;
  }
  w.word.fetch_add(1, std::memory_order_seq_cst);
  futex_wake_shared(w.word, INT_MAX);
  if (ticket != 0) w.wake.compare_exchange_strong(ticket, wake_done, std::memory_order_seq_cst);
}

bool expired(const time_point* deadline) {
  return deadline != nullptr && std::chrono::steady_clock::now() >= *deadline;
}

// --- looking at the ring ---------------------------------------------------------------------

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
std::uint64_t max_probe_steps(const ring_header* h) { return 4 * h->capacity + (std::uint64_t{1} << 16); }

/// Moves hint `index` past `pos` (it may already be past) and returns where to look next.
std::uint64_t help_past(std::atomic<std::uint64_t>& index, std::uint64_t pos) {
  std::uint64_t expected = pos;
  if (index.compare_exchange_strong(expected, pos + 1, std::memory_order_relaxed)) return pos + 1;
  return std::max(expected, pos + 1);
}

/// The producer's end: claims a free slot (`claim`) or reports it free (`ready`), or `blocked`
/// behind the previous lap's message or claim (the ring is full).
probe probe_put(ring_header* h, bool claim, std::uint32_t pid) {
  const std::uint64_t cap = h->capacity;
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
    if (pos >= cap && (v == ready_seq(pos - cap) || is_claim_on(v, false, pos - cap) || is_claim_on(v, true, pos - cap))) {
      return {probe::blocked, pos, s, v, pos - cap};
    }
    pos = help_past(h->tail, pos);  // slot `pos` is past free(pos): someone claimed `pos`
  }
}

/// The consumer's end: claims the oldest message (`claim`) or reports one there (`ready`), or
/// `blocked`: empty, or behind a producer still writing the oldest message.
probe probe_get(ring_header* h, bool claim, std::uint32_t pid) {
  const std::uint64_t cap = h->capacity;
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

[[noreturn]] void throw_corrupt() {
  throw protocol_error("proc::queue: the shared memory of the queue is corrupt (no slot holds a position near "
                       "its head or tail)");
}

/// Takes back a claim on `claim_pos` whose claimer died (top of the file). A no-op if the slot
/// changed meanwhile (another waiter took it back first).
void reclaim(ring_header* h, ring_slot* s, std::uint64_t claim, std::uint64_t claim_pos, const identity& me) {
  std::uint64_t expected = claim;
  if ((claim & consumer_bit) != 0) {
    if (s->seq.compare_exchange_strong(expected, free_seq(claim_pos + h->capacity), std::memory_order_seq_cst)) {
      notify(h, ring_readiness::writable);
    }
    return;
  }
  const std::uint64_t mine = claim_word(false, claim_pos, me.pid);
  if (!s->seq.compare_exchange_strong(expected, mine, std::memory_order_seq_cst)) return;
  record_owner(s, mine, me);
  s->length = abandoned_length;
  s->seq.store(ready_seq(claim_pos), std::memory_order_seq_cst);
  notify(h, ring_readiness::readable);
}

/// Publishes a claimed slot whose message will never be written.
void abandon(ring_header* h, ring_slot* s, std::uint64_t pos) {
  s->length = abandoned_length;
  s->seq.store(ready_seq(pos), std::memory_order_seq_cst);
  notify(h, ring_readiness::readable);
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
  void check(ring_header* h, const probe& p, const identity& me) {
    if (!is_claim(p.seen) || p.slot->seq.load(std::memory_order_seq_cst) != p.seen) return;
    const time_point now = std::chrono::steady_clock::now();
    if (now < due(p.slot, p.seen, now)) return;
    if (claimer_dead(*p.slot, p.seen)) {
      reclaim(h, p.slot, p.seen, p.claim_pos, me);
    } else {
      since = now;  // alive: look again one interval later
    }
  }
};

/// Spins (with `pause`) until the slot that blocked `p` changes or the ring's `closed` differs
/// from `was_closed`: for at most `claim_spin_budget` behind a claim, `spin_budget` on an empty
/// or full ring; not at all on a machine with one CPU online, where the other side cannot act
/// while this one spins.
///
/// Why the two budgets: behind a claim the claimer is running, a few microseconds from
/// publishing (a 64 KiB copy takes about that long). On an empty or full ring the other side is
/// either running on another core, and then well under a microsecond from its next step, or not
/// running (descheduled, or waiting for this very core, where a child process often stays
/// beside its parent on a busy machine), and then a longer spin only delays it. Measured on 2
/// cores (docs/benchmarks.md): 2 µs moved queue_small faster than 10 µs with the two sides on
/// one core, on two, and beside CPU-bound processes. sched_yield between looks was faster still
/// when nothing else wanted the core, but beside CPU-bound processes some transfers fell to
/// 0.02-0.2M msgs/s (likely because under EEVDF each yield pushes the yielder's deadline a
/// slice later, so the core goes to those processes): not used.
void spin_for_change(ring_header* h, const probe& p, bool was_closed) {
  static const bool can_spin = ::sysconf(_SC_NPROCESSORS_ONLN) > 1;
  if (!can_spin) return;
  const time_point until =
      std::chrono::steady_clock::now() + (is_claim(p.seen) ? shm_ring::claim_spin_budget : shm_ring::spin_budget);
  for (int i = 0;; ++i) {
    if (p.slot->seq.load(std::memory_order_acquire) != p.seen ||
        (h->closed.load(std::memory_order_acquire) != 0) != was_closed) {
      return;
    }
    __builtin_ia32_pause();
    if ((i & 15) == 15 && std::chrono::steady_clock::now() >= until) return;
  }
}

/// One round of waiting for a blocked put or get: spins first, then sleeps until woken, the
/// deadline, or (behind a claim) the next claimer check. False once `deadline` has passed.
/// `was_closed`: whether the ring was closed when `p` was taken (a consumer draining a closed
/// ring waits for a claimed slot like any other).
bool wait_round(ring_header* h, ring_readiness readiness, const probe& p, bool was_closed, const time_point* deadline,
                bool& spun, stall_watch& stall, const identity& me) {
  if (expired(deadline)) return false;
  auto changed = [&] {
    return p.slot->seq.load(std::memory_order_seq_cst) != p.seen ||
           (h->closed.load(std::memory_order_seq_cst) != 0) != was_closed;
  };
  if (!spun) {
    // The other side is often well under a microsecond from its next step: look for a while,
    // unregistered (so it need not wake us), before paying for a sleep.
    spun = true;
    spin_for_change(h, p, was_closed);
    return true;
  }
  const time_point* until = deadline;
  time_point stall_due;
  if (is_claim(p.seen)) {
    stall_due = stall.due(p.slot, p.seen, std::chrono::steady_clock::now());
    if (deadline == nullptr || stall_due < *deadline) until = &stall_due;
  }
  const wait_words w = words_for(h, readiness);
  const std::uint32_t seen_word = w.word.load(std::memory_order_seq_cst);
  w.enter(false);
  if (!changed()) futex_wait_shared(w.word, seen_word, until);
  w.leave(false);
  spun = false;  // woken: worth one more short look if another taker won
  stall.check(h, p, me);
  return true;
}

}  // namespace

void inject_ring_fault(ring_fault_point point, std::uint64_t nth) noexcept {
  fault_countdown.store(nth, std::memory_order_relaxed);
  armed_fault.store(static_cast<int>(point), std::memory_order_relaxed);
}

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
  /// Makes a sleeping (or about to sleep) watcher re-check: the watcher reads the word before
  /// it looks at `stop_requested_` and the hooks, so either it sees what changed or its
  /// FUTEX_WAIT on the old value returns at once.
  void poke() noexcept {
    const wait_words w = words_for(h_, readiness_);
    w.word.fetch_add(1, std::memory_order_seq_cst);
    futex_wake_shared(w.word, INT_MAX);
  }

  /// Assumes the caller holds `mutex_`.
  void unlink(ring_wake_hook& hook) noexcept {
    if (hook.prev != nullptr) hook.prev->next = hook.next; else head_ = hook.next;
    if (hook.next != nullptr) hook.next->prev = hook.prev;
    hook.next = hook.prev = nullptr;
    hook.linked = false;
    count_.fetch_sub(1, std::memory_order_relaxed);
  }

  /// The ring as this direction's coroutines need it: ready, or what blocks them.
  probe look(const identity& me) const {
    if (readiness_ == ring_readiness::readable) return probe_get(h_, false, me.pid);
    return probe_put(h_, false, me.pid);
  }

  void run() noexcept {
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
      const probe p = idle ? probe{} : look(me);
      // A corrupt ring wakes its coroutines too: their own get or put reports it.
      const bool ready = idle || h_->closed.load(std::memory_order_seq_cst) != 0 || p.kind == probe::ready ||
                         p.kind == probe::corrupt;
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

  ring_header* h_;
  ring_readiness readiness_;
  std::mutex mutex_;
  std::condition_variable hooks_changed_;
  ring_wake_hook* head_ = nullptr;  // guarded by mutex_
  std::atomic<bool> stop_requested_{false};  // set under mutex_, before a poke
  std::atomic<std::size_t> count_{0};
  std::atomic<std::uint64_t> wakeups_{0};
  std::thread thread_;  // last: starts once the members above exist
};

shm_ring::shm_ring(std::size_t capacity, std::size_t max_message) {
  if (capacity == 0 || capacity > max_capacity) {
    throw std::invalid_argument("proc::queue capacity must be between 1 and " + std::to_string(max_capacity));
  }
  if (max_message == 0 || max_message > (std::size_t{1} << 30)) {
    throw std::invalid_argument("proc::queue message size must be between 1 byte and 1 GiB");
  }
  const std::size_t slot_bytes = (sizeof(ring_slot) + max_message + 63) / 64 * 64;
  if (capacity > (std::numeric_limits<std::size_t>::max() - sizeof(ring_header)) / slot_bytes) {
    throw std::invalid_argument("proc::queue of " + std::to_string(capacity) + " slots of " +
                                std::to_string(max_message) + " bytes is too large to map");
  }
  const std::size_t bytes = sizeof(ring_header) + capacity * slot_bytes;
  fd_ = ::memfd_create("trident-queue", MFD_CLOEXEC);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "memfd_create");
  if (::ftruncate(fd_, static_cast<off_t>(bytes)) != 0) {
    const int e = errno;
    ::close(fd_);
    throw std::system_error(e, std::generic_category(), "ftruncate of a queue memfd");
  }
  map(bytes);
  // The memfd is zero-filled: every atomic starts at 0; each slot starts free for its position.
  h_->slot_bytes = static_cast<std::uint32_t>(slot_bytes);
  h_->capacity = capacity;
  h_->max_message = max_message;
  for (std::uint64_t pos = 0; pos < capacity; ++pos) slot_at(h_, pos)->seq.store(free_seq(pos), std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  h_->magic = ring_magic;
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
  // The header is another process's bytes: each size must describe this memfd as the creating
  // constructor lays it out (64-byte slots, each holding its largest message), checked without
  // a product that could wrap around, before any slot is found with them.
  const std::uint64_t slot_bytes = h_->slot_bytes;
  const std::uint64_t capacity = h_->capacity;
  const std::uint64_t max_message = h_->max_message;
  if (h_->magic != ring_magic || capacity == 0 || slot_bytes < sizeof(ring_slot) + 1 || slot_bytes % 64 != 0 ||
      max_message == 0 || max_message > slot_bytes - sizeof(ring_slot) ||
      capacity > (bytes_ - sizeof(ring_header)) / slot_bytes) {
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
    const std::size_t half = m->size() / 2;
    if (half != 0) std::memcpy(dst, m->data(), half);
    fault_point(ring_fault_point::producer_mid_write);
    if (m->size() != half) std::memcpy(dst + half, m->data() + half, m->size() - half);
    return m->size();
  };
  return put_with(copy, &message, deadline);
}

bool shm_ring::put_with(writer_fn write, void* context, const std::chrono::steady_clock::time_point* deadline) {
  const identity& me = self();
  bool spun = false;
  stall_watch stall;
  for (;;) {
    if (h_->closed.load(std::memory_order_seq_cst) != 0) throw channel_closed_error("proc::queue is closed");
    const probe p = probe_put(h_, true, me.pid);
    if (p.kind == probe::corrupt) throw_corrupt();
    if (p.kind == probe::claimed) {
      record_owner(p.slot, claim_word(false, p.pos, me.pid), me);
      fault_point(ring_fault_point::producer_after_claim);
      // A close that came before the claim is seen here; consumers wait for a claimed slot, so
      // a put that gets past this line is delivered even if the ring closes now.
      if (h_->closed.load(std::memory_order_seq_cst) != 0) {
        abandon(h_, p.slot, p.pos);
        throw channel_closed_error("proc::queue is closed");
      }
      std::size_t n = 0;
      try {
        n = write(context, payload(p.slot), h_->max_message);
      } catch (...) {
        abandon(h_, p.slot, p.pos);
        throw;
      }
      fault_point(ring_fault_point::producer_before_publish);
      p.slot->length = static_cast<std::uint32_t>(std::min<std::size_t>(n, h_->max_message));
      p.slot->seq.store(ready_seq(p.pos), std::memory_order_seq_cst);
      notify(h_, ring_readiness::readable);
      return true;
    }
    if (!wait_round(h_, ring_readiness::writable, p, false, deadline, spun, stall, me)) return false;
  }
}

bool shm_ring::get(std::string& out, const std::chrono::steady_clock::time_point* deadline) {
  auto copy = [](void* context, std::string_view m) {
    auto* s = static_cast<std::string*>(context);
    s->assign(m.substr(0, m.size() / 2));
    fault_point(ring_fault_point::consumer_mid_read);
    s->assign(m);
  };
  return get_with(copy, &out, deadline);
}

bool shm_ring::get_with(reader_fn read, void* context, const std::chrono::steady_clock::time_point* deadline) {
  const identity& me = self();
  bool spun = false;
  stall_watch stall;
  for (;;) {
    // `closed` before the ring: a put that claimed before the close is seen as claimed here.
    const bool was_closed = h_->closed.load(std::memory_order_seq_cst) != 0;
    const probe p = probe_get(h_, true, me.pid);
    if (p.kind == probe::corrupt) throw_corrupt();
    if (p.kind == probe::claimed) {
      record_owner(p.slot, claim_word(true, p.pos, me.pid), me);
      notify(h_, ring_readiness::writable);  // sleepers on a full ring now wait on this claim
      fault_point(ring_fault_point::consumer_after_claim);
      struct release {
        ring_header* h;
        ring_slot* s;
        std::uint64_t next_lap;
        ~release() {
          s->seq.store(free_seq(next_lap), std::memory_order_seq_cst);
          notify(h, ring_readiness::writable);
        }
      };
      const std::uint32_t n = p.slot->length;
      if (n == abandoned_length) {  // its producer died or gave up: skip it
        release skip{h_, p.slot, p.pos + h_->capacity};
        spun = false;
        continue;
      }
      release done{h_, p.slot, p.pos + h_->capacity};
      read(context, std::string_view(payload(p.slot), std::min<std::size_t>(n, h_->max_message)));
      return true;
    }
    if (p.empty && was_closed) return false;
    if (!wait_round(h_, ring_readiness::readable, p, was_closed, deadline, spun, stall, me)) return false;
  }
}

bool shm_ring::wait_readable(const std::chrono::steady_clock::time_point* deadline) {
  const identity& me = self();
  bool spun = true;  // no spinning: this is for callers who would rather sleep
  stall_watch stall;
  for (;;) {
    if (h_->closed.load(std::memory_order_seq_cst) != 0) return true;
    const probe p = probe_get(h_, false, me.pid);
    if (p.kind == probe::corrupt) throw_corrupt();
    if (p.kind == probe::ready) return true;
    if (!wait_round(h_, ring_readiness::readable, p, false, deadline, spun, stall, me)) return false;
    spun = true;
  }
}

void shm_ring::close() {
  h_->closed.store(1, std::memory_order_seq_cst);
  h_->not_empty.fetch_add(1, std::memory_order_seq_cst);
  h_->not_full.fetch_add(1, std::memory_order_seq_cst);
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

std::size_t shm_ring::size() const {
  const std::uint64_t head = h_->head.load(std::memory_order_acquire);
  const std::uint64_t tail = h_->tail.load(std::memory_order_acquire);
  return tail > head ? static_cast<std::size_t>(std::min<std::uint64_t>(tail - head, h_->capacity)) : 0;
}

std::size_t shm_ring::capacity() const noexcept { return h_->capacity; }
std::size_t shm_ring::max_message() const noexcept { return h_->max_message; }

}  // namespace trident::proc::detail
