/// @file
/// The global lock-order graph.
///
/// Protocol of a checked blocking `lock()` of lock L by thread T:
///  1. If T's held list contains L: throw (recursive locking would self-deadlock).
///  2. If T holds nothing: nothing to record; go to 5.
///  3. Under the graph's own std::mutex, for every lock H that T holds: if the edge H -> L is
///     already recorded, it is known safe (the graph is kept acyclic, so no path L ->...-> H can
///     exist). Otherwise search the graph breadth-first for a path L ->...-> H; if one exists the
///     new edge would close a cycle: throw lock_order_error naming H, L and every edge of that
///     path with its source location. No edge is added when any check fails.
///  4. Record every new edge H -> L with the caller's location (the first location wins).
///  5. Block on the native lock, then append L to T's held list.
/// `unlock()` removes L from T's held list. Destroying L removes its node and its edges.
///
/// Cost: step 3 is a hash lookup per held lock once a pair of locks has been seen nested; the
/// search (O(nodes + edges)) runs only when a pair is nested for the first time.

#include "trident/sync/lock_order.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace trident::sync {

namespace detail {
#ifdef TRIDENT_LOCK_ORDER_DEFAULT_ON
constinit std::atomic<bool> lock_order_enabled{true};
#else
constinit std::atomic<bool> lock_order_enabled{false};
#endif

namespace {
bool apply_environment() noexcept {
  if (const char* value = std::getenv("TRIDENT_LOCK_ORDER"); value != nullptr && *value != '\0') {
    const std::string_view v{value};
    const bool on = !(v == "0" || v == "off" || v == "OFF" || v == "false");
    lock_order_enabled.store(on, std::memory_order_relaxed);
  }
  return true;
}
[[maybe_unused]] const bool environment_applied = apply_environment();
}  // namespace
}  // namespace detail

namespace detail {

namespace {

struct held_entry {
  const tracked_lock* lock;
  source_location where;
};

// Locks the calling thread holds, oldest first, as recorded while checking was on.
thread_local std::vector<held_entry> t_held;

std::string format_location(source_location loc) {
  return fmt::format("{}:{} in {}", loc.file_name(), loc.line(), loc.function_name());
}

}  // namespace

/// The process-wide graph. Guarded by its own std::mutex, never by a checked lock, so that the
/// checker cannot recurse into itself.
class lock_order_graph {
 public:
  static lock_order_graph& instance() {
    // Leaked on purpose: mutexes with static storage duration may be destroyed (and call
    // forget()) after any other static object.
    static auto* graph = new lock_order_graph;
    return *graph;
  }

  static std::string display_name(const tracked_lock* lock) {
    if (!lock->name_.empty()) return lock->name_;
    return fmt::format("mutex@{}", static_cast<const void*>(lock));
  }

  void check_and_record(const tracked_lock* lock, source_location where) {
    for (const held_entry& held : t_held) {
      if (held.lock == lock) {
        violations_.fetch_add(1, std::memory_order_relaxed);
        const std::string name = display_name(lock);
        throw lock_order_error(fmt::format("lock-order violation: '{}' requested at {} is already held by this "
                                           "thread (taken at {}); locking it again would deadlock",
                                           name, format_location(where), format_location(held.where)),
                               name, name, where, held.where, {});
      }
    }
    if (t_held.empty()) return;

    std::lock_guard guard{mutex_};
    checks_.fetch_add(1, std::memory_order_relaxed);
    bool any_new = false;
    for (const held_entry& held : t_held) {
      if (has_edge(held.lock, lock)) continue;
      any_new = true;
      std::vector<lock_order_error::edge> path = find_path(lock, held.lock);
      if (!path.empty()) {
        violations_.fetch_add(1, std::memory_order_relaxed);
        throw make_inversion_error(lock, held, where, std::move(path));
      }
    }
    if (!any_new) return;
    for (const held_entry& held : t_held) add_edge(held.lock, lock, where);
  }

  void forget(const tracked_lock* lock) noexcept {
    std::lock_guard guard{mutex_};
    auto it = nodes_.find(lock);
    if (it == nodes_.end()) return;
    for (const auto& [target, edge] : it->second.out) {
      nodes_[target].in.erase(lock);
      --edge_count_;
    }
    for (const tracked_lock* source : it->second.in) {
      nodes_[source].out.erase(lock);
      --edge_count_;
    }
    nodes_.erase(it);
  }

  void clear() {
    std::lock_guard guard{mutex_};
    for (auto& [lock, node] : nodes_) {
      const_cast<tracked_lock*>(lock)->in_graph_.store(false, std::memory_order_release);
    }
    nodes_.clear();
    edge_count_ = 0;
  }

  lock_order::graph_statistics statistics() {
    std::lock_guard guard{mutex_};
    return {nodes_.size(), edge_count_, checks_.load(std::memory_order_relaxed),
            violations_.load(std::memory_order_relaxed)};
  }

 private:
  struct edge_info {
    source_location where;
  };
  struct node {
    std::string name;  // a copy, so that a path can be printed without touching other locks
    std::unordered_map<const tracked_lock*, edge_info> out;
    std::unordered_set<const tracked_lock*> in;
  };

  /// Assumes the caller holds `mutex_`.
  bool has_edge(const tracked_lock* from, const tracked_lock* to) const {
    auto it = nodes_.find(from);
    return it != nodes_.end() && it->second.out.contains(to);
  }

  /// Assumes the caller holds `mutex_`.
  node& node_for(const tracked_lock* lock) {
    auto [it, inserted] = nodes_.try_emplace(lock);
    if (inserted) {
      it->second.name = display_name(lock);
      const_cast<tracked_lock*>(lock)->in_graph_.store(true, std::memory_order_release);
    }
    return it->second;
  }

  /// Assumes the caller holds `mutex_`.
  void add_edge(const tracked_lock* from, const tracked_lock* to, source_location where) {
    node& source = node_for(from);
    node& target = node_for(to);
    if (source.out.try_emplace(to, edge_info{where}).second) {
      target.in.insert(from);
      ++edge_count_;
    }
  }

  /// Breadth-first search for a path `from ->...-> to`; returns its edges (empty if none).
  /// Assumes the caller holds `mutex_`.
  std::vector<lock_order_error::edge> find_path(const tracked_lock* from, const tracked_lock* to) const {
    if (!nodes_.contains(from) || !nodes_.contains(to)) return {};
    std::unordered_map<const tracked_lock*, const tracked_lock*> parent{{from, nullptr}};
    std::deque<const tracked_lock*> frontier{from};
    while (!frontier.empty()) {
      const tracked_lock* current = frontier.front();
      frontier.pop_front();
      if (current == to) break;
      for (const auto& [next, edge] : nodes_.at(current).out) {
        if (parent.try_emplace(next, current).second) frontier.push_back(next);
      }
    }
    if (!parent.contains(to)) return {};
    std::vector<lock_order_error::edge> path;
    for (const tracked_lock* at = to; parent.at(at) != nullptr; at = parent.at(at)) {
      const tracked_lock* before = parent.at(at);
      const node& before_node = nodes_.at(before);
      path.push_back({before_node.name, nodes_.at(at).name, before_node.out.at(at).where});
    }
    std::reverse(path.begin(), path.end());
    return path;
  }

  static lock_order_error make_inversion_error(const tracked_lock* requested, const held_entry& held,
                                               source_location where, std::vector<lock_order_error::edge> path) {
    const std::string requested_name = display_name(requested);
    const std::string held_name = display_name(held.lock);
    std::string message = fmt::format("lock-order inversion: '{}' requested while holding '{}' at {}; ", requested_name,
                                      held_name, format_location(where));
    if (path.size() == 1) {
      message += fmt::format("the opposite order '{}' after '{}' was taken at {}", held_name, requested_name,
                             format_location(path.front().where));
    } else {
      message += fmt::format("the opposite order '{}' after '{}' follows from", held_name, requested_name);
      const char* separator = ": ";
      for (const auto& edge : path) {
        message += fmt::format("{}'{}' after '{}' taken at {}", separator, edge.after, edge.before,
                               format_location(edge.where));
        separator = "; ";
      }
    }
    message += fmt::format(" ('{}' was acquired at {})", held_name, format_location(held.where));
    return lock_order_error(std::move(message), requested_name, held_name, where, held.where, std::move(path));
  }

  std::mutex mutex_;
  std::unordered_map<const tracked_lock*, node> nodes_;
  std::size_t edge_count_ = 0;
  std::atomic<std::size_t> checks_{0};
  std::atomic<std::size_t> violations_{0};
};

void tracked_lock::check_before_lock(source_location where) {
  lock_order_graph::instance().check_and_record(this, where);
}

void tracked_lock::note_acquired(source_location where) {
  t_held.push_back({this, where});
  tracked_ = true;
}

void tracked_lock::note_released() noexcept {
  tracked_ = false;
  // Usually the most recent lock is released first.
  for (auto it = t_held.rbegin(); it != t_held.rend(); ++it) {
    if (it->lock == this) {
      t_held.erase(std::next(it).base());
      return;
    }
  }
}

bool tracked_lock::held_by_this_thread() const noexcept {
  return std::any_of(t_held.begin(), t_held.end(), [this](const held_entry& e) { return e.lock == this; });
}

void tracked_lock::forget() noexcept { lock_order_graph::instance().forget(this); }

}  // namespace detail

namespace lock_order {

void set_enabled(bool on) noexcept { sync::detail::lock_order_enabled.store(on, std::memory_order_relaxed); }

graph_statistics statistics() { return trident::sync::detail::lock_order_graph::instance().statistics(); }

void clear() { trident::sync::detail::lock_order_graph::instance().clear(); }

}  // namespace lock_order
}  // namespace trident::sync
