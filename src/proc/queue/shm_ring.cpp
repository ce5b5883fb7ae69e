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
// registers again (`notify` below: a notifier killed half-way leaves no one asleep).
// `close()` sets `closed`, bumps both words and wakes everyone; a put that claimed its slot
// before it saw `closed` is delivered (consumers wait for a claimed slot even when closed), one
// that sees `closed` after claiming abandons the slot and throws.
//
// Coroutines (proc/run_in.hpp) do not block a thread each: they leave a hook with this
// process's watcher thread for the ring, which sleeps on the same futex words; steps 1 to 4 of
// that protocol are in ring_watcher.cpp, where the watcher lives. Step 2 is here: a put or get
// that finds sleepers wakes *all* of them (`notify`).
//
// This file's one job: the ring's protocol above, its two ends (put, get), waiting, and the
// recovery of a dead claimer. The layout and the looks at each end (`probe_put`, `probe_get`),
// which the watcher reads too, are in ring_layout.hpp, private to this folder.

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
#include <cstring>
#include <ctime>
#include <limits>
#include <stdexcept>
#include <system_error>

#include "ring_layout.hpp"
#include "ring_watcher.hpp"
#include "trident/proc/detail/memory_file.hpp"
#include "trident/core/errors.hpp"
#include "trident/proc/errors.hpp"

namespace trident::proc::detail {

using namespace ring;

namespace {

constexpr std::uint32_t ring_magic = 0x52445254;  // "TRDR": the lock-free layout
constexpr std::uint32_t abandoned_length = 0xFFFFFFFFu;
constexpr std::size_t max_capacity = std::size_t{1} << 28;  // well apart from position_mask

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

identity self_identity;

void refresh_identity() noexcept {
  self_identity.pid = static_cast<std::uint32_t>(::getpid());
  stat_fields f;
  self_identity.start = read_stat(self_identity.pid, f) ? f.start : 0;
}

}  // namespace

const identity& ring::self() noexcept {
  static const bool ready = [] {
    refresh_identity();
    ::pthread_atfork(nullptr, nullptr, refresh_identity);
    return true;
  }();
  (void)ready;
  return self_identity;
}

namespace {

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
  if (armed_fault.load(std::memory_order_relaxed) == static_cast<int>(point)) [[unlikely]]
    fault_passage();
}
}  // namespace

// --- futex ------------------------------------------------------------------------------------

bool ring::futex_wait_shared(std::atomic<std::uint32_t>& word, std::uint32_t expected, const time_point* deadline) {
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

void ring::futex_wake_shared(std::atomic<std::uint32_t>& word, int n) {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE, n, nullptr, nullptr, 0);
}

namespace {

/// After a publish (release, or a consumer's claim): wakes every sleeper of that direction,
/// unless there is none or they have all been woken since the last of them registered. Step 2
/// of the coroutine protocol (ring_watcher.cpp). The caller's seq_cst store and these seq_cst loads pair with a
/// waiter's seq_cst registration and re-check.
///
/// `wake` spares the system call to a producer that publishes many messages while a woken
/// consumer is still on its way to a CPU (it stays counted in `*_waiters` until it runs): the
/// first notifier takes a ticket into `wake`, bumps the word, wakes everyone and marks the
/// wake-up done, unless a sleeper registered meanwhile (it stored `wake_none`). A notifier that
/// finds another's ticket there wakes too: that one may still be on its way, or have died
/// before its FUTEX_WAKE, which must not leave anyone asleep.
void notify(const ring_ref& h, ring_readiness readiness) {
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

[[noreturn]] void throw_corrupt() {
  throw protocol_error(
      "proc::queue: the shared memory of the queue is corrupt (no slot holds a position near "
      "its head or tail)");
}

/// Takes back a claim on `claim_pos` whose claimer died (top of the file). A no-op if the slot
/// changed meanwhile (another waiter took it back first).
void reclaim(const ring_ref& h, ring_slot* s, std::uint64_t claim, std::uint64_t claim_pos, const identity& me) {
  std::uint64_t expected = claim;
  if ((claim & consumer_bit) != 0) {
    if (s->seq.compare_exchange_strong(expected, free_seq(claim_pos + h.capacity), std::memory_order_seq_cst)) {
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
void abandon(const ring_ref& h, ring_slot* s, std::uint64_t pos) {
  s->length = abandoned_length;
  s->seq.store(ready_seq(pos), std::memory_order_seq_cst);
  notify(h, ring_readiness::readable);
}

}  // namespace

void ring::stall_watch::check(const ring_ref& h, const probe& p, const identity& me) {
  if (!is_claim(p.seen) || p.slot->seq.load(std::memory_order_seq_cst) != p.seen) return;
  const time_point now = std::chrono::steady_clock::now();
  if (now < due(p.slot, p.seen, now)) return;
  if (claimer_dead(*p.slot, p.seen)) {
    reclaim(h, p.slot, p.seen, p.claim_pos, me);
  } else {
    since = now;  // alive: look again one interval later
  }
}

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
void ring::spin_for_change(const ring_ref& h, const probe& p, bool was_closed) {
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

namespace {

/// One round of waiting for a blocked put or get: spins first, then sleeps until woken, the
/// deadline, or (behind a claim) the next claimer check. False once `deadline` has passed.
/// `was_closed`: whether the ring was closed when `p` was taken (a consumer draining a closed
/// ring waits for a claimed slot like any other).
bool wait_round(const ring_ref& h, ring_readiness readiness, const probe& p, bool was_closed,
                const time_point* deadline, bool& spun, stall_watch& stall, const identity& me) {
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
  fd_ = make_sealed_memory_file("trident-queue", bytes);
  map(bytes);
  // The memfd is zero-filled: every atomic starts at 0; each slot starts free for its position.
  h_->created_slot_bytes = static_cast<std::uint32_t>(slot_bytes);
  h_->created_capacity = capacity;
  h_->created_max_message = max_message;
  h_.slot_bytes = slot_bytes;
  h_.capacity = capacity;
  h_.max_message = max_message;
  for (std::uint64_t pos = 0; pos < capacity; ++pos) {
    slot_at(h_, pos)->seq.store(free_seq(pos), std::memory_order_relaxed);
  }
  std::atomic_thread_fence(std::memory_order_release);
  h_->magic = ring_magic;
}

shm_ring::shm_ring(int fd) {
  fd_ = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "proc::queue: inherited descriptor");
  // Only a memory file whose size no process can change is mapped (detail/memory_file.hpp).
  std::uint64_t file_size = 0;
  try {
    file_size = sealed_memory_file_size(fd_, "proc::queue: inherited descriptor");
  } catch (...) {
    ::close(fd_);
    throw;
  }
  if (file_size < sizeof(ring_header) || file_size > std::numeric_limits<std::size_t>::max()) {
    ::close(fd_);
    throw std::runtime_error("proc::queue: inherited descriptor is not a queue");
  }
  map(static_cast<std::size_t>(file_size));
  // The header is another process's bytes: each size must describe this memfd as the creating
  // constructor lays it out (64-byte slots, each holding its largest message), checked without
  // a product that could wrap around, before any slot is found with them.
  const std::uint64_t slot_bytes = h_->created_slot_bytes;
  const std::uint64_t capacity = h_->created_capacity;
  const std::uint64_t max_message = h_->created_max_message;
  if (h_->magic != ring_magic || capacity == 0 || slot_bytes < sizeof(ring_slot) + 1 || slot_bytes % 64 != 0 ||
      max_message == 0 || max_message > slot_bytes - sizeof(ring_slot) ||
      capacity > (bytes_ - sizeof(ring_header)) / slot_bytes) {
    ::munmap(h_.shared, bytes_);
    ::close(fd_);
    throw std::runtime_error("proc::queue: inherited descriptor is not a queue");
  }
  // From here on the geometry is this process's copy: the header may change under it.
  h_.slot_bytes = slot_bytes;
  h_.capacity = capacity;
  h_.max_message = max_message;
}

void shm_ring::map(std::size_t bytes) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
  if (p == MAP_FAILED) {
    const int e = errno;
    ::close(fd_);
    throw std::system_error(e, std::generic_category(), "mmap of a queue");
  }
  bytes_ = bytes;
  h_.shared = static_cast<ring_header*>(p);
}

shm_ring::~shm_ring() {
  for (auto& w : watchers_) w.reset();  // they use the mapping
  ::munmap(h_.shared, bytes_);
  ::close(fd_);
}

bool shm_ring::put(std::string_view message, const std::chrono::steady_clock::time_point* deadline) {
  if (message.size() > h_.max_message) {
    throw std::length_error("proc::queue: message of " + std::to_string(message.size()) +
                            " bytes exceeds the queue's slot size of " + std::to_string(h_.max_message));
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
        n = write(context, payload(p.slot), h_.max_message);
      } catch (...) {
        abandon(h_, p.slot, p.pos);
        throw;
      }
      fault_point(ring_fault_point::producer_before_publish);
      p.slot->length = static_cast<std::uint32_t>(std::min<std::size_t>(n, h_.max_message));
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
        const ring_ref& h;
        ring_slot* s;
        std::uint64_t next_lap;
        ~release() {
          s->seq.store(free_seq(next_lap), std::memory_order_seq_cst);
          notify(h, ring_readiness::writable);
        }
      };
      const std::uint32_t n = p.slot->length;
      if (n == abandoned_length) {  // its producer died or gave up: skip it
        release skip{h_, p.slot, p.pos + h_.capacity};
        spun = false;
        continue;
      }
      release done{h_, p.slot, p.pos + h_.capacity};
      read(context, std::string_view(payload(p.slot), std::min<std::size_t>(n, h_.max_message)));
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

bool shm_ring::closed() const noexcept { return h_->closed.load(std::memory_order_acquire) != 0; }

std::size_t shm_ring::size() const {
  const std::uint64_t head = h_->head.load(std::memory_order_acquire);
  const std::uint64_t tail = h_->tail.load(std::memory_order_acquire);
  return tail > head ? static_cast<std::size_t>(std::min<std::uint64_t>(tail - head, h_.capacity)) : 0;
}

std::size_t shm_ring::capacity() const noexcept { return h_.capacity; }
std::size_t shm_ring::max_message() const noexcept { return h_.max_message; }

}  // namespace trident::proc::detail
