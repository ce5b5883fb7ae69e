// The worker's side of the channel: what a re-executed binary does instead of its own main.
//
// 1. Parse the marker: argv = {exe, --trident-worker=<mode>, <fd>, <parent pid>, <memory limit>}.
//    Mode "fork-server" runs the fork server (fork_server.hpp) instead; each worker it forks
//    continues from step 2 with what the request said.
// 2. Ask to be SIGKILLed when the spawning thread dies, then check the parent is still the one
//    that started us (it may have died before the prctl; then we were reparented: exit).
// 3. Apply the memory limit (RLIMIT_AS), send `hello` with our PID.
// 4. Serve: read frames (many per read), run each task in order, send its `result` or `error`
//    before starting the next. A pool worker gets its shared-memory channel first (`channel`
//    frames) and from then on takes tasks from its task ring and publishes results in its
//    result ring (`ring_worker`), recording each task's id before it runs it.
// 5. Exit on `retire` (the pool's max_tasks_per_child or graceful shutdown) or when the parent
//    closes the channel. A `process` worker (mode "process") runs one task and exits with 0, or
//    1 if the task threw (after printing the exception, as Python's Process does).
// Mode "detached" (a detached `process`) replaces step 2: fork, the first process exits (the
// starter reaps it), the second starts a session of its own and serves as a "process" worker
// whose channel is its release descriptor (process.hpp): end-of-file once the starter let go.

#include "trident/proc/worker_main.hpp"

#include <sys/prctl.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "trident/proc/codec.hpp"
#include "trident/proc/detail/channel_ring.hpp"
#include "trident/proc/detail/attachments.hpp"
#include "trident/proc/detail/fork_server.hpp"
#include "trident/proc/detail/frame.hpp"
#include "trident/proc/detail/payload_arena.hpp"
#include "trident/proc/lowlevel/describe_exception.hpp"
#include "trident/proc/lowlevel/encoded_call.hpp"
#include "trident/proc/process.hpp"
#include "trident/proc/task_registry.hpp"
#include "trident/trace/process_spans.hpp"
#include "trident/trace/recorder.hpp"

namespace trident::proc {

namespace {

bool g_is_worker = false;
int g_release_fd = -1;  // a detached process's channel, set before its task runs

/// Runs one task frame; leaves its encoded result (or exception) in `scratch`, the kind of
/// frame that carries it in `kind`, and the task's name (a view into the frame; empty for a frame
/// that holds none) in `name`. Returns whether it succeeded.
bool run_task(const detail::frame& f, std::string& scratch, detail::frame_kind& kind, std::string_view& name,
              bool report) {
  scratch.clear();
  name = {};
  try {
    const lowlevel::payload_parts parts = lowlevel::split_payload(f.payload);
    name = parts.task_name;
    // The same task arrives many times in a row (a map): skip the registry's lock and lookup.
    static std::string last_name;
    static const detail::registered_task* last = nullptr;
    const detail::registered_task* t = last != nullptr && name == last_name ? last : detail::find_task(name);
    if (t != nullptr && t != last) {
      last_name = name;
      last = t;
    }
    if (t == nullptr) {
      throw unregistered_task_error("worker has no task named '" + std::string(name) +
                                    "' (is the worker the same binary, with TRIDENT_TASK in it?)");
    }
    // The descriptors of the task's shared_bytes, for its arguments' decoding (attachments.hpp).
    std::vector<int> attached;
    attached.reserve(f.attachments.size());
    for (const auto& fd : f.attachments) attached.push_back(fd.get());
    const detail::attachment_source source(attached);
    const detail::attachment_source::scope decoding(source);
    (f.kind == detail::frame_kind::chunk ? t->chunk : t->one)(parts.arguments, scratch);
    kind = detail::frame_kind::result;
    return true;
  } catch (...) {
    auto [type, message] = lowlevel::describe_exception(std::current_exception());
    if (report)
      std::fprintf(stderr, "trident process %d: task failed: %s: %s\n", ::getpid(), type.c_str(), message.c_str());
    scratch.clear();
    encode_into(scratch, type, message);
    kind = detail::frame_kind::error;
    return false;
  }
}

bool send_all(int fd, detail::frame_writer& out) { return out.flush(fd); }

// ---- tracing: on only when the parent asks (a `trace_on` frame), so an untraced pool pays
// nothing. The worker then records a span per task and sends its spans just before each result,
// so the parent holds a task's span by the time its future completes; a crash loses only the
// spans of the task that crashed. Spans travel in the channel rather than in files: nothing to
// clean up, nothing left behind by a killed worker, and no second path between the processes.

void start_tracing(std::uint64_t worker_number) {
  trace::set_process_name(fmt::format("worker {} (pid {})", worker_number, ::getpid()));
  trace::set_thread_name(fmt::format("worker {} tasks", worker_number));
  trace::start();
}

/// Runs one task frame (inside a span named after the task while tracing) and hands its frames
/// to `emit(kind, id, payload)`: the spans recorded so far first, then the result. Returns
/// whether the task succeeded and whether every frame was handed over.
template <class Emit>
std::pair<bool, bool> run_and_emit(const detail::frame& f, std::string& scratch, bool report, Emit&& emit) {
  detail::frame_kind kind{};
  std::string_view name;
  if (!trace::enabled()) {
    const bool ok = run_task(f, scratch, kind, name, report);
    return {ok, emit(kind, f.id, std::string_view(scratch))};
  }
  const std::uint64_t start = trace::now_ns();
  const bool ok = run_task(f, scratch, kind, name, report);
  trace::record(f.kind == detail::frame_kind::chunk ? "chunk" : "task", "process_pool", start, trace::now_ns(),
                std::string(name));
  const std::string packed = trace::take_spans_for_parent();
  if (!packed.empty() && !emit(detail::frame_kind::trace_spans, 0, std::string_view(packed))) return {ok, false};
  return {ok, emit(kind, f.id, std::string_view(scratch))};
}

/// Sends everything in `out` on `fd`, waiting for room when the socket is non-blocking.
/// Returns false if the peer is gone.
bool flush_all(int fd, detail::frame_writer& out) {
  while (!out.empty()) {
    if (!out.flush(fd)) return false;
    if (out.empty()) break;
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, -1) < 0 && errno != EINTR) return false;
  }
  return true;
}

// ---- a pool worker's shared-memory channel (channel_ring.hpp) ----
//
// Tasks come in the task ring and results go out in the result ring; the socket stays for the
// payloads that travel as memfds (a ring entry marked `on_socket` says "the next memfd frame on
// the socket is this entry's payload") and for the end: the worker notices the pool is gone
// when the socket reaches EOF. A worker with no task spins for the budget the pool set (`spin_budget_ns`), then sleeps in
// poll() on the socket and its wake-up eventfd rather than on a futex: one sleep that also
// wakes on EOF (the pool shut the channel or died) and on a memfd frame arriving.

class ring_worker {
 public:
  ring_worker(int socket, detail::frame_reader& in, detail::channel_memory memory, detail::owned_fd wake_me,
              detail::owned_fd wake_pool)
      : socket_(socket),
        in_(in),
        memory_(std::move(memory)),
        control_(memory_.control()),
        tasks_(memory_.task_reader()),
        results_(memory_.result_writer()),
        wake_me_(std::move(wake_me)),
        wake_pool_(std::move(wake_pool)) {
    ::fcntl(socket_, F_SETFL, ::fcntl(socket_, F_GETFL) | O_NONBLOCK);
  }

  int serve() {
    current = this;
    const int rc = serve_loop();
    current = nullptr;
    return rc;
  }

  /// The worker's channel while it serves (for the test hook).
  static inline ring_worker* current = nullptr;

  void corrupt_for_testing() {
    const std::string garbage(detail::frame_header_size, '\x5a');
    results_.add_raw_for_testing(garbage);
  }

 private:
  int serve_loop() {
    if (!take_socket_frames()) return 3;
    std::string scratch;
    for (;;) {
      std::optional<detail::frame> entry;
      try {
        entry = tasks_.next();
      } catch (const std::exception& e) {
        std::fprintf(stderr, "trident worker %d: %s\n", ::getpid(), e.what());
        return 3;
      }
      if (!entry) {
        tasks_.release();
        if (!wait_for_task()) return 0;
        continue;
      }
      detail::frame f;
      if (entry->on_socket) {
        auto from_socket = socket_frame_for(*entry);
        if (!from_socket) return 0;
        f = std::move(*from_socket);
      } else {
        f = std::move(*entry);
      }
      if (f.in_arena) {
        // The payload sits in the pool's arena, mapped here since its memfd came (id 3 below).
        std::string problem;
        try {
          std::uint64_t offset;
          std::uint64_t length;
          std::memcpy(&offset, f.payload.data(), 8);
          std::memcpy(&length, f.payload.data() + 8, 8);
          f.payload = arena_.bytes(offset, length);
        } catch (const std::exception& e) {
          problem = e.what();
        }
        if (!problem.empty()) {
          // The task fails, not the worker: a worker that cannot map the arena (an address-space
          // limit) would otherwise be replaced, and the task resent, forever.
          if (!fail_task(f.id, problem)) return 0;
          tasks_.release();
          continue;
        }
      }
      switch (f.kind) {
        case detail::frame_kind::retire:
          publish();
          flush_all(socket_, socket_out_);
          return 0;
        case detail::frame_kind::trace_on:
          start_tracing(f.id);
          break;
        case detail::frame_kind::channel:
          // The payload arena, sent before the first task that uses it; mapped for good.
          if (f.id != 3 || f.descriptor.get() < 0 || arena_.mapped()) {
            std::fprintf(stderr, "trident worker %d: worker channel: unexpected channel frame\n", ::getpid());
            return 3;
          }
          try {
            arena_ = detail::payload_arena_view::attach(f.descriptor.get());
          } catch (const std::exception& e) {
            arena_error_ = e.what();  // its tasks fail with this (above)
          }
          break;
        case detail::frame_kind::task:
        case detail::frame_kind::chunk: {
          // Recorded before the task starts: if the worker dies now, the pool charges this task.
          control_.running_since_ns.store(detail::steady_ns(), std::memory_order_relaxed);
          control_.running_task.store(f.id, std::memory_order_release);
          const auto [ok, sent] = run_and_emit(
              f, scratch, false,
              [this](detail::frame_kind k, std::uint64_t id, std::string_view payload) { return put(k, id, payload); });
          (void)ok;
          if (!sent) return 0;
          // Published before the next task starts: if that one crashes the worker, this result
          // is already the pool's.
          publish();
          break;
        }
        default:
          break;
      }
      tasks_.release();
    }
  }

  /// Answers task `id` with a protocol_error saying `why`. False if the pool is gone.
  bool fail_task(std::uint64_t id, const std::string& why) {
    control_.running_since_ns.store(detail::steady_ns(), std::memory_order_relaxed);
    control_.running_task.store(id, std::memory_order_release);
    std::string error;
    encode_into(error, std::string("trident::proc::protocol_error"), arena_error_.empty() ? why : arena_error_);
    if (!put(detail::frame_kind::error, id, error)) return false;
    publish();
    return true;
  }

  void publish() {
    if (results_.publish()) detail::wake_if_sleeping(control_.pool_sleeping, wake_pool_.get());
  }

  /// Puts a frame in the result ring (a large payload on the socket, its place in the ring).
  /// Returns false if the pool is gone.
  bool put(detail::frame_kind kind, std::uint64_t id, std::string_view payload) {
    const bool large = payload.size() >= detail::shm_threshold;
    if (large) {
      socket_out_.add(kind, id, payload);
      if (!flush_all(socket_, socket_out_)) return false;
    }
    while (!results_.try_add(kind, id, large ? std::string_view() : payload, large)) {
      // The ring is full: the pool drains it when it wakes. Wait a little, watching the socket.
      publish();
      pollfd p{socket_, POLLIN, 0};
      if (::poll(&p, 1, 1) > 0 && !read_socket()) return false;
    }
    return true;
  }

  /// Spins a little for a task, then sleeps until one comes. False if the pool closed the channel.
  bool wait_for_task() {
    const std::uint64_t budget = control_.worker_spin_ns.load(std::memory_order_relaxed);
    const std::uint64_t until = detail::steady_ns() + budget;
    for (unsigned i = 1; budget != 0 && tasks_.empty(); ++i) {
      detail::cpu_relax();
      if (i % 64 == 0 && detail::steady_ns() >= until) break;
    }
    if (!tasks_.empty()) return true;
    control_.worker_sleeping.store(1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!tasks_.empty()) {
      control_.worker_sleeping.store(0, std::memory_order_relaxed);
      return true;
    }
    pollfd p[2] = {{socket_, POLLIN, 0}, {wake_me_.get(), POLLIN, 0}};
    int r;
    do {
      r = ::poll(p, 2, -1);
    } while (r < 0 && errno == EINTR);
    control_.worker_sleeping.store(0, std::memory_order_relaxed);
    if (p[1].revents & POLLIN) {
      std::uint64_t v;
      (void)!::read(wake_me_.get(), &v, sizeof v);
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) return read_socket();
    return true;
  }

  /// Reads what the socket has into `socket_frames_`. False at EOF or on a bad frame.
  bool read_socket() {
    long n;
    try {
      n = detail::read_into(socket_, in_);
    } catch (const std::exception&) {
      return false;
    }
    if (n == 0) return false;
    return take_socket_frames();
  }

  /// Moves the frames the socket reader holds into `socket_frames_`: only memfd frames come on
  /// the socket once the rings are in use.
  bool take_socket_frames() {
    try {
      while (auto f = in_.next()) {
        if (!f->mapping && f->descriptor.get() < 0) {
          throw protocol_error("worker channel: an inline frame on the socket while the rings are in use");
        }
        socket_frames_.push_back(std::move(*f));
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "trident worker %d: %s\n", ::getpid(), e.what());
      return false;
    }
    return true;
  }

  /// The memfd frame on the socket that `entry` stands for (waiting for it); nullopt if the pool
  /// closed the channel or sent something else.
  std::optional<detail::frame> socket_frame_for(const detail::frame& entry) {
    while (socket_frames_.empty()) {
      pollfd p{socket_, POLLIN, 0};
      if (::poll(&p, 1, -1) < 0 && errno != EINTR) return std::nullopt;
      if (!read_socket()) return std::nullopt;
    }
    detail::frame f = std::move(socket_frames_.front());
    socket_frames_.pop_front();
    if (f.kind != entry.kind || f.id != entry.id) {
      std::fprintf(stderr, "trident worker %d: worker channel: socket frame out of step with the ring\n", ::getpid());
      return std::nullopt;
    }
    return f;
  }

  int socket_;
  detail::frame_reader& in_;
  detail::channel_memory memory_;
  detail::channel_control& control_;
  detail::ring_reader tasks_;
  detail::ring_writer results_;
  detail::owned_fd wake_me_;
  detail::owned_fd wake_pool_;
  std::deque<detail::frame> socket_frames_;
  detail::frame_writer socket_out_;
  detail::payload_arena_view arena_;  // the pool's payload arena, once it sent it
  std::string arena_error_;           // why it could not be mapped, if it could not
};

int serve(int fd, bool one_shot) {
  detail::frame_writer out;
  out.add(detail::frame_kind::hello, static_cast<std::uint64_t>(::getpid()), {});
  if (!send_all(fd, out)) return 0;
  detail::frame_reader in;
  std::string scratch;
  // A pool sends its shared-memory channel first: three `channel` frames.
  detail::owned_fd channel_fd;
  detail::owned_fd wake_me;
  for (;;) {
    const long n = detail::read_into(fd, in);
    if (n == 0) return 0;  // the parent closed the channel: nothing more to do
    for (;;) {
      std::optional<detail::frame> f;
      try {
        f = in.next();
        if (f && f->kind == detail::frame_kind::channel) {
          if (one_shot || f->descriptor.get() < 0) throw protocol_error("worker channel: unexpected channel frame");
          if (f->id == 0) {
            channel_fd = std::move(f->descriptor);
          } else if (f->id == 1) {
            wake_me = std::move(f->descriptor);
          } else if (f->id == 2 && channel_fd.get() >= 0 && wake_me.get() >= 0) {
            auto memory = detail::channel_memory::attach(channel_fd.get());
            channel_fd = detail::owned_fd();
            ring_worker rings(fd, in, std::move(memory), std::move(wake_me), std::move(f->descriptor));
            return rings.serve();
          } else {
            throw protocol_error("worker channel: channel frames out of order");
          }
          continue;
        }
      } catch (const std::exception& e) {
        std::fprintf(stderr, "trident worker %d: %s\n", ::getpid(), e.what());
        return 3;
      }
      if (!f) break;
      if (f->kind == detail::frame_kind::retire) {
        send_all(fd, out);
        return 0;
      }
      if (f->kind == detail::frame_kind::trace_on) {
        start_tracing(f->id);
        continue;
      }
      if (f->kind != detail::frame_kind::task && f->kind != detail::frame_kind::chunk) continue;
      const auto [ok, added] =
          run_and_emit(*f, scratch, one_shot, [&out](detail::frame_kind k, std::uint64_t id, std::string_view payload) {
            out.add(k, id, payload);
            return true;
          });
      (void)added;
      if (one_shot) {
        send_all(fd, out);
        return ok ? 0 : 1;  // like Python's Process: an uncaught exception is exit status 1
      }
      // Each result leaves before the next task starts: if that task crashes the worker, the
      // parent must have every earlier result, so that the oldest unanswered task is the one
      // that crashed.
      if (!send_all(fd, out)) return 0;
    }
  }
}

}  // namespace

bool is_worker_process() noexcept { return g_is_worker; }

int release_descriptor() noexcept { return g_release_fd; }

void wait_until_released() {
  if (g_release_fd < 0) return;
  // The starter sends nothing after the task: readable means end-of-file.
  pollfd p{g_release_fd, POLLIN, 0};
  while (::poll(&p, 1, -1) < 0 && errno == EINTR) {}
}

int current_pid() noexcept { return static_cast<int>(::getpid()); }

namespace {

/// Steps 3 to 5: the memory limit, then serve on `fd` until done; closes `fd`.
int limit_and_serve(int fd, bool one_shot, unsigned long long limit) {
  if (limit > 0) {
    const rlimit r{limit, limit};
    ::setrlimit(RLIMIT_AS, &r);
  }
  g_is_worker = true;
  int rc;
  try {
    rc = serve(fd, one_shot);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "trident worker %d: %s\n", ::getpid(), e.what());
    rc = 3;
  }
  ::close(fd);
  return rc;
}

int run_worker(int fd, bool one_shot, long parent, unsigned long long limit) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) return 0;  // the parent died before the prctl took effect
  return limit_and_serve(fd, one_shot, limit);
}

/// Mode "detached": this process is the starter's child; its fork, re-parented once this one
/// exits, runs the task outside the starter's tree.
int run_detached(int fd, unsigned long long limit) {
  const pid_t child = ::fork();  // no thread runs yet: a fresh exec
  if (child < 0) {
    std::fprintf(stderr, "trident: cannot start a detached process: %s\n", std::strerror(errno));
    return 1;  // the starter sees the channel end without a hello
  }
  if (child > 0) ::_exit(0);
  ::setsid();                        // a terminal's Ctrl-C goes to the starter, which releases this process in order
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);  // what the task starts must not hold the starter's lifeline
  g_release_fd = fd;
  const int rc = limit_and_serve(fd, true, limit);
  g_release_fd = -1;
  return rc;
}

}  // namespace

namespace detail {

void corrupt_result_ring_for_testing() {
  if (ring_worker::current != nullptr) ring_worker::current->corrupt_for_testing();
}

}  // namespace detail

std::optional<int> worker_main(int argc, char** argv) {
  if (argc < 2 || std::strncmp(argv[1], "--trident-worker=", 17) != 0) return std::nullopt;
  ::unsetenv("TRIDENT_WORKER_PENDING");
  const std::string_view mode = argv[1] + 17;
  if (argc < 5 || (mode != "pool" && mode != "process" && mode != "fork-server" && mode != "detached")) {
    std::fprintf(stderr, "trident worker: malformed worker command line\n");
    return 2;
  }
  const int fd = std::atoi(argv[2]);
  if (mode == "fork-server") {
    // Returns in each forked worker, with what to serve; in the server once its owner is gone.
    const auto forked = detail::serve_fork_requests(fd);
    if (!forked) return 0;
    return run_worker(forked->channel, forked->one_shot, forked->parent, forked->memory_limit_bytes);
  }
  if (mode == "detached") return run_detached(fd, std::strtoull(argv[4], nullptr, 10));
  return run_worker(fd, mode == "process", std::atol(argv[3]), std::strtoull(argv[4], nullptr, 10));
}

}  // namespace trident::proc
