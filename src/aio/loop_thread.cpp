#include "trident/aio/lowlevel/loop_thread.hpp"

#include <condition_variable>
#include <mutex>
#include <stdexcept>

#include "trident/aio/event.hpp"
#include "trident/aio/run.hpp"
#include "trident/core/errors.hpp"
#include "trident/trace/recorder.hpp"

namespace trident::aio::lowlevel {

namespace {

/// The constructor's wait for the loop to run, or to fail to start.
struct start_state {
  std::mutex mutex;
  std::condition_variable cv;
  bool started = false;        // guarded by mutex
  std::exception_ptr failure;  // idem

  void finish(std::exception_ptr error) {
    const std::lock_guard lock(mutex);
    if (started) return;
    failure = std::move(error);
    started = true;
    cv.notify_all();
  }
};

/// The loop's main task: hands the owner the loop's endpoint and a way to end this task, then
/// waits for it. The loop serves posted callbacks, and the tasks they spawn, meanwhile.
task<void> serve(start_state& start, std::shared_ptr<remote_endpoint>& endpoint, std::function<void()>& stop) {
  event stopped;
  endpoint = event_loop::running().endpoint();
  stop = [&stopped] { stopped.set(); };
  start.finish(nullptr);  // the lock orders the two writes above before the owner reads them
  co_await stopped.wait();
}

/// What `loop_thread::call` waits on. The callback posted holds it through a `notifier`, whose
/// destructor also ends the wait when the callback is dropped unrun (the loop has ended).
struct call_state {
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;  // guarded by mutex
  bool ran = false;   // idem

  void finish(bool has_run) {
    const std::lock_guard lock(mutex);
    if (done) return;
    done = true;
    ran = has_run;
    cv.notify_all();
  }
};

struct notifier {
  std::shared_ptr<call_state> state;
  explicit notifier(std::shared_ptr<call_state> s) noexcept : state(std::move(s)) {}
  notifier(const notifier&) = delete;
  notifier& operator=(const notifier&) = delete;
  ~notifier() { state->finish(false); }
};

}  // namespace

loop_thread::loop_thread(std::string name, loop_options options) {
  // Shared: a loop that fails after the start reports it here, after the constructor returned.
  auto start = std::make_shared<start_state>();
  thread_ = std::thread([this, start, name = std::move(name), options] {
    trace::set_thread_name(name);
    try {
      run(serve(*start, endpoint_, stop_), options);
    } catch (...) {
      // Before the start: the constructor rethrows it. After: the loop has ended, and posts to
      // it are dropped, which `call` and `run_on` report to their callers.
      start->finish(std::current_exception());
    }
  });
  std::unique_lock lock(start->mutex);
  start->cv.wait(lock, [&start] { return start->started; });
  if (start->failure) {
    lock.unlock();
    thread_.join();
    std::rethrow_exception(start->failure);
  }
}

loop_thread::~loop_thread() {
  // `stop_` is the loop thread's to call; the post reaches it unless the loop ended already.
  post(*endpoint_, [stop = &stop_] { (*stop)(); });
  thread_.join();
}

void loop_thread::call_and_wait(std::function<void()> fn) {
  if (std::this_thread::get_id() == thread_.get_id()) {
    throw std::logic_error("loop_thread::call on the loop's own thread would wait for itself");
  }
  auto state = std::make_shared<call_state>();
  auto done = std::make_shared<notifier>(state);
  post(*endpoint_, [fn = std::move(fn), done] {
    fn();
    done->state->finish(true);
  });
  done.reset();  // from here only the posted callback keeps the notifier
  std::unique_lock lock(state->mutex);
  state->cv.wait(lock, [&state] { return state->done; });
  if (!state->ran) throw cancelled_error("loop_thread::call: the loop ended before the call ran");
}

}  // namespace trident::aio::lowlevel
