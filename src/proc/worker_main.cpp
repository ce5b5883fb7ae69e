// The worker's side of the channel: what a re-executed binary does instead of its own main.
//
// 1. Parse the marker: argv = {exe, --trident-worker=<mode>, <fd>, <parent pid>, <memory limit>}.
//    Mode "fork-server" runs the fork server (fork_server.hpp) instead; each worker it forks
//    continues from step 2 with what the request said.
// 2. Ask to be SIGKILLed when the spawning thread dies, then check the parent is still the one
//    that started us (it may have died before the prctl; then we were reparented: exit).
// 3. Apply the memory limit (RLIMIT_AS), send `hello` with our PID.
// 4. Serve: read frames (many per read), run each task in order, send its `result` or `error`
//    before starting the next.
// 5. Exit on `retire` (the pool's max_tasks_per_child or graceful shutdown) or when the parent
//    closes the channel. A `process` worker (mode "process") runs one task and exits with 0, or
//    1 if the task threw (after printing the exception, as Python's Process does).

#include "trident/proc/worker_main.hpp"

#include <cxxabi.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>

#include <fmt/format.h>

#include "trident/proc/codec.hpp"
#include "trident/proc/detail/fork_server.hpp"
#include "trident/proc/detail/frame.hpp"
#include "trident/proc/task.hpp"
#include "trident/trace/process_spans.hpp"
#include "trident/trace/recorder.hpp"

namespace trident::proc {

namespace {

bool g_is_worker = false;

std::string demangle(const char* name) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> d(abi::__cxa_demangle(name, nullptr, nullptr, &status), &std::free);
  return status == 0 && d ? std::string(d.get()) : std::string(name);
}

/// The exception being handled, as (demangled type name, message).
std::pair<std::string, std::string> describe_current_exception() {
  try {
    throw;
  } catch (const std::exception& e) {
    return {demangle(typeid(e).name()), e.what()};
  } catch (...) {
    const std::type_info* t = abi::__cxa_current_exception_type();
    return {t != nullptr ? demangle(t->name()) : "unknown", "(exception not derived from std::exception)"};
  }
}

/// Runs one task frame; appends a result or error frame to `out`. Returns whether it succeeded.
bool run_task(const detail::frame& f, detail::frame_writer& out, std::string& scratch, bool report) {
  scratch.clear();
  try {
    if (f.payload.size() < 4) throw protocol_error("task frame too short");
    std::uint32_t name_len;
    std::memcpy(&name_len, f.payload.data(), 4);
    if (name_len > f.payload.size() - 4) throw protocol_error("task frame: name runs past the end");
    const std::string_view name = f.payload.substr(4, name_len);
    const std::string_view args = f.payload.substr(4 + name_len);
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
    (f.kind == detail::frame_kind::chunk ? t->chunk : t->one)(args, scratch);
    out.add(detail::frame_kind::result, f.id, scratch);
    return true;
  } catch (...) {
    auto [type, message] = describe_current_exception();
    if (report) std::fprintf(stderr, "trident process %d: task failed: %s: %s\n", ::getpid(), type.c_str(), message.c_str());
    scratch.clear();
    encode_into(scratch, type, message);
    out.add(detail::frame_kind::error, f.id, scratch);
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

/// Runs one task frame inside a span (the task's registered name is its detail), then sends the
/// spans recorded so far ahead of the task's result frame.
bool run_task_traced(int fd, const detail::frame& f, detail::frame_writer& out, std::string& scratch, bool report) {
  const std::uint64_t start = trace::now_ns();
  detail::frame_writer result;
  const bool ok = run_task(f, result, scratch, report);
  std::string name;
  if (f.payload.size() >= 4) {
    std::uint32_t name_len;
    std::memcpy(&name_len, f.payload.data(), 4);
    if (name_len <= f.payload.size() - 4) name = f.payload.substr(4, name_len);
  }
  trace::record(f.kind == detail::frame_kind::chunk ? "chunk" : "task", "process_pool", start, trace::now_ns(),
                std::move(name));
  const std::string packed = trace::take_spans_for_parent();
  if (!packed.empty()) out.add(detail::frame_kind::trace_spans, 0, packed);
  if (send_all(fd, out)) send_all(fd, result);
  return ok;
}

int serve(int fd, bool one_shot) {
  detail::frame_writer out;
  out.add(detail::frame_kind::hello, static_cast<std::uint64_t>(::getpid()), {});
  if (!send_all(fd, out)) return 0;
  detail::frame_reader in;
  std::string scratch;
  for (;;) {
    const long n = detail::read_into(fd, in);
    if (n == 0) return 0;  // the parent closed the channel: nothing more to do
    for (;;) {
      std::optional<detail::frame> f;
      try {
        f = in.next();
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
      const bool ok = trace::enabled() ? run_task_traced(fd, *f, out, scratch, one_shot)
                                       : run_task(*f, out, scratch, one_shot);
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

int current_pid() noexcept { return static_cast<int>(::getpid()); }

namespace {

int run_worker(int fd, bool one_shot, long parent, unsigned long long limit) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) return 0;  // the parent died before the prctl took effect
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

}  // namespace

std::optional<int> worker_main(int argc, char** argv) {
  if (argc < 2 || std::strncmp(argv[1], "--trident-worker=", 17) != 0) return std::nullopt;
  ::unsetenv("TRIDENT_WORKER_PENDING");
  const std::string_view mode = argv[1] + 17;
  if (argc < 5 || (mode != "pool" && mode != "process" && mode != "fork-server")) {
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
  return run_worker(fd, mode == "process", std::atol(argv[3]), std::strtoull(argv[4], nullptr, 10));
}

}  // namespace trident::proc
