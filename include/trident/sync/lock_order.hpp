#pragma once
/// @file
/// Lock-order checking (in the spirit of Linux lockdep and Abseil's deadlock detection).
///
/// While checking is enabled, every blocking `lock()` of a checked lock (`trident::sync::mutex`)
/// records the edge "held lock -> newly taken lock" in one process-wide order graph, together
/// with the source location where that edge was first taken. A `lock()` that would close a
/// cycle in the graph throws `trident::sync::lock_order_error` *before* it blocks: the program gets an
/// error that names both locks and both call sites instead of a hang, even when the two threads
/// that take the locks in opposite orders never overlap in time.
///
/// The switch is global and can be flipped at run time. It defaults to on when the library is
/// compiled with `TRIDENT_LOCK_ORDER_DEFAULT_ON` (the CMake Debug configuration defines it), and
/// the environment variable `TRIDENT_LOCK_ORDER` (`1` or `0`) overrides that default when the
/// library is loaded. Switched off, a checked lock costs one relaxed atomic load more than
/// `std::mutex` (see docs/sync.md for the measured figure).

#include <atomic>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "trident/core/errors.hpp"
#include "trident/core/source_location.hpp"

namespace trident::sync {

/// Thrown by a checked `lock()` that would deadlock: it would close a cycle in the lock-order
/// graph, or the calling thread already holds the lock it asks for.
///
/// The lock was *not* taken when this is thrown; locks the thread already held stay held.
///
/// Example message:
/// ```
/// lock-order inversion: 'account_b' requested while holding 'account_a' at x.cpp:12 in f();
/// the opposite order 'account_a' after 'account_b' was taken at x.cpp:30 in g()
/// ```
class lock_order_error : public error {
 public:
  /// One recorded ordering: `after` was locked while `before` was held, first at `where`.
  struct edge {
    std::string before;
    std::string after;
    source_location where;
  };

  lock_order_error(std::string message, std::string requested, std::string held, source_location requested_at,
                   source_location held_at, std::vector<edge> opposite_order)
      : error(std::move(message)),
        requested_(std::move(requested)),
        held_(std::move(held)),
        requested_at_(requested_at),
        held_at_(held_at),
        opposite_order_(std::move(opposite_order)) {}

  /// Name of the lock whose `lock()` threw (its address when it has no name).
  [[nodiscard]] const std::string& requested() const noexcept { return requested_; }
  /// Name of the lock already held that conflicts with it (equal to `requested()` when the
  /// thread tried to lock a lock it already holds).
  [[nodiscard]] const std::string& held() const noexcept { return held_; }
  /// Where the failing `lock()` was called.
  [[nodiscard]] source_location requested_at() const noexcept { return requested_at_; }
  /// Where the calling thread acquired `held()`.
  [[nodiscard]] source_location held_at() const noexcept { return held_at_; }
  /// The recorded path `requested() -> ... -> held()` that the new edge would have closed into
  /// a cycle; one edge for a two-lock inversion. Empty for a recursive lock.
  [[nodiscard]] const std::vector<edge>& opposite_order() const noexcept { return opposite_order_; }
  /// Where the first edge of the opposite order was taken (for a two-lock inversion: where
  /// `held()` was locked while `requested()` was held). Equals `held_at()` for a recursive lock.
  [[nodiscard]] source_location opposite_at() const noexcept {
    return opposite_order_.empty() ? held_at_ : opposite_order_.front().where;
  }
  /// True when the thread asked for a lock it already holds.
  [[nodiscard]] bool is_recursive() const noexcept { return opposite_order_.empty(); }

 private:
  std::string requested_;
  std::string held_;
  source_location requested_at_;
  source_location held_at_;
  std::vector<edge> opposite_order_;
};

namespace detail {
/// The global switch of lock-order checking. Constant-initialised from the compile-time
/// default, so that locks used during static initialisation see a defined value; the
/// environment override is applied when the library's own static initialisers run.
extern std::atomic<bool> lock_order_enabled;
}  // namespace detail

namespace lock_order {

/// Whether checked locks record and check lock order right now.
[[nodiscard]] inline bool enabled() noexcept {
  // Relaxed: the switch orders nothing; a thread that sees a stale value for a moment only
  // checks (or skips checking) one more lock.
  return sync::detail::lock_order_enabled.load(std::memory_order_relaxed);
}

/// Turns checking on or off for every thread. Locks taken while checking was on are still
/// released from the per-thread bookkeeping when checking is off by then.
void set_enabled(bool on) noexcept;

/// Counters of the global order graph (a snapshot).
struct graph_statistics {
  std::size_t nodes = 0;       ///< locks that take part in at least one edge
  std::size_t edges = 0;       ///< recorded "held -> taken" orderings
  std::size_t checks = 0;      ///< blocking locks taken with another checked lock held
  std::size_t violations = 0;  ///< lock_order_error thrown
};

/// A snapshot of the order graph's counters.
[[nodiscard]] graph_statistics statistics();

/// Forgets every recorded ordering (the counters stay). For tests and for programs that change
/// their locking discipline deliberately between phases.
void clear();

}  // namespace lock_order

namespace detail {

/// What the lock-order graph knows of one lock: its name and whether it is a node of the
/// graph. A checked lock type derives from this and calls the three hooks around its native
/// lock operations. Thread safety: the hooks must be called by the thread that takes/releases
/// the lock; `tracked_` is only touched by the thread that owns the lock.
class tracked_lock {
 public:
  tracked_lock(const tracked_lock&) = delete;
  tracked_lock& operator=(const tracked_lock&) = delete;

  /// The name given at construction (may be empty).
  [[nodiscard]] std::string_view name() const noexcept { return name_; }

 protected:
  tracked_lock() = default;
  explicit tracked_lock(std::string name) noexcept : name_(std::move(name)) {}
  ~tracked_lock() {
    if (in_graph_.load(std::memory_order_acquire)) forget();
  }

  /// Checks that blocking on this lock now cannot deadlock and records the new orderings.
  /// Throws lock_order_error. Call before blocking on the native lock.
  void check_before_lock(source_location where);
  /// Records that the calling thread now holds this lock. Assumes the native lock is held.
  void note_acquired(source_location where);
  /// Removes this lock from the calling thread's held list. Assumes `tracked_` is true.
  void note_released() noexcept;
  /// True while the calling (owning) thread's held list holds this lock.
  [[nodiscard]] bool held_by_this_thread() const noexcept;

  /// Set while the owning thread's held list records this lock; read by `unlock()` so that a
  /// lock taken with checking on is released from the list even if checking was turned off
  /// meanwhile. Only the owning thread reads or writes it.
  bool tracked_ = false;

 private:
  friend class lock_order_graph;
  void forget() noexcept;

  std::string name_;
  std::atomic<bool> in_graph_{false};
};

}  // namespace detail
}  // namespace trident::sync

// This header's names under their 0.1 spelling, directly in `trident::`: deprecated until 0.3.
#define TRIDENT_SYNC_LOCK_ORDER_HPP
#include "trident/sync/deprecated_names.hpp"
