#include "interruption.hpp"

#include <pthread.h>
#include <signal.h>
#include <string.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

namespace trident::bench {
namespace {

struct registry {
  std::mutex mutex;
  std::vector<std::pair<unsigned long, std::function<void()>>> actions;  // guarded by mutex
  unsigned long next_id = 1;                                             // guarded by mutex
};

registry& cleanups() {
  static registry r;
  return r;
}

sigset_t stop_set() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1}) sigaddset(&set, sig);
  return set;
}

}  // namespace

struct interruption_guard::state {
  sigset_t set = stop_set();
  sigset_t previous{};
  std::thread watcher;
};

interruption_guard::interruption_guard() : state_(new state) {
  if (pthread_sigmask(SIG_BLOCK, &state_->set, &state_->previous) != 0) {
    delete state_;
    throw std::runtime_error("trident bench: cannot block the stop signals");
  }
  state_->watcher = std::thread([s = state_] {
    int sig = 0;
    if (sigwait(&s->set, &sig) != 0 || sig == SIGUSR1) return;  // SIGUSR1: the guard ends
    const char* abbrev = sigabbrev_np(sig);
    std::fflush(stdout);
    std::fprintf(stderr, "\ntrident bench: stopped by SIG%s; removing what the run made\n",
                 abbrev != nullptr ? abbrev : "?");
    {
      registry& r = cleanups();
      std::lock_guard lock(r.mutex);
      for (auto it = r.actions.rbegin(); it != r.actions.rend(); ++it) it->second();
    }
    std::fflush(stderr);
    std::_Exit(128 + sig);
  });
}

interruption_guard::~interruption_guard() {
  pthread_kill(state_->watcher.native_handle(), SIGUSR1);
  state_->watcher.join();
  pthread_sigmask(SIG_SETMASK, &state_->previous, nullptr);
  delete state_;
}

on_interruption::on_interruption(std::function<void()> action) {
  registry& r = cleanups();
  std::lock_guard lock(r.mutex);
  id_ = r.next_id++;
  r.actions.emplace_back(id_, std::move(action));
}

on_interruption::~on_interruption() {
  registry& r = cleanups();
  std::lock_guard lock(r.mutex);
  std::erase_if(r.actions, [this](const auto& a) { return a.first == id_; });
}

}  // namespace trident::bench
