#pragma once
// Test helper: occupies one worker of a pool until released, so that work submitted meanwhile
// stays queued and tests can cancel, reorder or shut down deterministically.

#include <memory>

#include "trident/exec/thread_pool.hpp"
#include "trident/sync/event.hpp"

namespace trident::testing {

class worker_blocker {
 public:
  /// Returns once a worker of `pool` is inside the blocking task.
  explicit worker_blocker(exec::thread_pool& pool) : events_(std::make_shared<events>()) {
    pool.post([e = events_] {  // shares the events: the task may outlive this object
      e->started.set();
      e->gate.wait();
    });
    events_->started.wait();
  }
  worker_blocker(const worker_blocker&) = delete;
  worker_blocker& operator=(const worker_blocker&) = delete;
  ~worker_blocker() { release(); }

  /// Lets the blocked worker go on. Idempotent.
  void release() { events_->gate.set(); }

 private:
  struct events {
    sync::event started, gate;
  };
  std::shared_ptr<events> events_;
};

}  // namespace trident::testing
