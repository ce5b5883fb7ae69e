#include "interruption.hpp"

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <stop_token>
#include <utility>
#include <vector>

#include "trident/core/stop_signals.hpp"

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

/// The first stop signal, on the signal thread: undo what the run made, then end the process.
struct clean_up_and_exit {
  const stop_signals* signals;
  void operator()() const noexcept {
    const int sig = signals->received();
    std::fflush(stdout);
    std::fprintf(stderr, "\ntrident bench: stopped by %s; removing what the run made\n",
                 stop_signals::name(sig).c_str());
    {
      registry& r = cleanups();
      const std::lock_guard lock(r.mutex);
      for (auto it = r.actions.rbegin(); it != r.actions.rend(); ++it) it->second();
    }
    std::fflush(stderr);
    std::_Exit(128 + sig);
  }
};

stop_signals::options leave_the_cleanups_to_finish() {
  stop_signals::options options;
  // The first signal's callback never returns (it exits), so this only keeps a second signal
  // from ending the process while the cleanups still run.
  options.on_second_signal = [](int) {};
  return options;
}

}  // namespace

struct interruption_guard::state {
  stop_signals signals{leave_the_cleanups_to_finish()};
  std::stop_callback<clean_up_and_exit> on_stop{signals.token(), clean_up_and_exit{&signals}};
};

interruption_guard::interruption_guard() : state_(std::make_unique<state>()) {}

interruption_guard::~interruption_guard() = default;

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
