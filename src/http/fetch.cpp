#include "trident/http/fetch.hpp"

#include <fmt/format.h>

#include <sys/resource.h>

#include <cerrno>
#include <exception>
#include <memory>
#include <system_error>
#include <thread>

#include "trident/aio/event_loop.hpp"
#include "trident/aio/gather.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/core/errors.hpp"
#include "trident/core/json_string.hpp"
#include "trident/http/file_names.hpp"
#include "trident/trace/recorder.hpp"

namespace trident::http {

namespace {

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

/// What the progress counters need to know of one item between callbacks.
struct item_progress {
  std::uint64_t attempt_bytes = 0;  // of the current attempt, in `bytes_done`
  std::int64_t expected = -1;       // in `bytes_expected`; -1: unknown (in `unsized`)
  int body_starts = 0;              // attempts whose body began
};

/// Runs `fn` on the loop of fetch_all's caller: at once when already there, else posted to it
/// (a session with several loops calls a request's callbacks on the loop running its transfer).
/// The posts of one transfer run in order, and before the wake-up of the task awaiting it.
class on_caller_loop {
 public:
  on_caller_loop() : loop_(&aio::event_loop::running()), endpoint_(loop_->endpoint()) {}
  template <class F>
  void operator()(F fn) const {
    if (aio::event_loop::current() == loop_) {
      fn();
    } else {
      aio::lowlevel::post(*endpoint_, std::move(fn));
    }
  }

 private:
  aio::event_loop* loop_;
  std::shared_ptr<aio::lowlevel::remote_endpoint> endpoint_;
};

struct run_state {
  std::vector<fetch_item> items;
  std::vector<item_progress> items_progress;
  std::vector<std::filesystem::path> paths;
  std::vector<fetch_result> results;
  fetch_options options;
  fetch_progress* progress = nullptr;
  on_caller_loop caller;  // where `progress` and `items_progress` are updated
  std::size_t next = 0;
  bool stopping = false;
};

aio::task<void> fetch_one(session& s, run_state& st, std::size_t i) {
  fetch_result& r = st.results[i];
  const auto started = aio::clock::now();
  const std::uint64_t trace_start = trace::enabled() ? trace::now_ns() : 0;  // 0: not traced
  item_progress& ip = st.items_progress[i];
  auto finish = [&](fetch_outcome o) {
    // One span per URL on the timeline (`--trace`). Downloads overlap on the loop's one thread,
    // so they are asynchronous spans (a track each), never complete events on the thread's lane.
    if (trace_start != 0) trace::record_async("download", "http", trace_start, trace::now_ns(), r.url);
    r.outcome = o;
    r.seconds = std::chrono::duration<double>(aio::clock::now() - started).count();
    if (o == fetch_outcome::ok || o == fetch_outcome::skipped) {  // final now: the hook sees it
      r.error.clear();
      r.error_kind.clear();
    }
    if (st.progress == nullptr) return;
    fetch_progress& p = *st.progress;
    ++p.done;
    if (o == fetch_outcome::failed) ++p.failed;
    if (o == fetch_outcome::cancelled) ++p.cancelled;
    // The item leaves the estimate: its size is now exact (done), or it will never be done.
    if (ip.expected < 0) {
      --p.unsized;
    } else {
      p.bytes_expected -= static_cast<std::uint64_t>(ip.expected);
    }
    p.bytes_done -= ip.attempt_bytes;
    if (o == fetch_outcome::ok || o == fetch_outcome::skipped) {
      p.bytes_expected += r.bytes;
      p.bytes_done += r.bytes;
    }
  };
  std::error_code ec;
  if (st.options.skip_existing && std::filesystem::exists(r.path, ec)) {
    r.bytes = std::filesystem::file_size(r.path, ec);
    finish(fetch_outcome::skipped);
    co_return;
  }
  request req;
  req.url = st.items[i].url;
  // Only what fetch decides; the session's other defaults (TLS, redirects...) stay.
  request_options& o = req.options;
  o.retry = st.options.retry;
  o.retry->max_attempts = std::max(1, st.options.retries + 1);
  o.total_timeout = st.options.timeout;
  o.max_body_bytes = st.options.max_size;
  fetch_progress* p = st.progress;
  // A new attempt starts its item again from byte 0.
  auto body_started = [p, &ip](std::int64_t length) {
    ++ip.body_starts;
    if (p == nullptr) return;
    p->bytes_done -= ip.attempt_bytes;
    ip.attempt_bytes = 0;
    if (length < 0) return;
    if (ip.expected < 0) {
      --p->unsized;
    } else {
      p->bytes_expected -= static_cast<std::uint64_t>(ip.expected);
    }
    ip.expected = length;
    p->bytes_expected += static_cast<std::uint64_t>(length);
  };
  auto body_bytes = [p, &ip](std::size_t n) {
    p->bytes += n;
    p->bytes_done += n;
    ip.attempt_bytes += n;
  };
  const on_caller_loop& caller = st.caller;
  o.on_body_start = [&caller, body_started](std::int64_t length) { caller([=] { body_started(length); }); };
  if (p != nullptr) o.on_body_bytes = [&caller, body_bytes](std::size_t n) { caller([=] { body_bytes(n); }); };
  try {
    // Out of descriptors is not this URL's fault: wait for others to finish and start again.
    // (Capping the transfers by the descriptors free at the start makes this rare; it happens
    // when something else in the process takes descriptors meanwhile.)
    std::chrono::milliseconds pause{5};
    for (;;) {
      try {
        request attempt = req;
        auto saving = s.save_to(std::move(attempt), r.path);
        response resp = co_await std::move(saving);
        r.status = resp.status();
        r.bytes = resp.body_bytes();
        r.attempts = resp.attempts();
        break;
      } catch (const transfer_error& e) {
        if (e.sys_errno() != EMFILE && e.sys_errno() != ENFILE) throw;
      }
      co_await aio::sleep(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(200));
    }
    finish(fetch_outcome::ok);
  } catch (const http_status_error& e) {
    r.status = e.status();
    r.attempts = e.attempts();
    r.error = e.what();
    r.error_kind = "http_status";
    finish(fetch_outcome::failed);
  } catch (const transfer_error& e) {
    r.attempts = e.attempts();
    r.error = e.what();
    r.error_kind = std::string(to_string(e.kind()));
    finish(fetch_outcome::failed);
  } catch (const cancelled_error&) {
    // The session reports attempts only when the request ends by itself; cut short, it was at
    // least the one begun (or as many as got a body).
    r.attempts = std::max(1, ip.body_starts);
    r.error = "cancelled";
    r.error_kind = "cancelled";
    st.stopping = true;
    finish(fetch_outcome::cancelled);
  } catch (const std::exception& e) {
    r.error = e.what();
    r.error_kind = "other";
    finish(fetch_outcome::failed);
  }
}

/// How many transfers the descriptors still free can carry: each needs a socket and its output
/// file, and the rest of the program (libcurl's own, the loop's, stdio, a trace file) keeps a
/// reserve. Counted once, at the start of a run.
std::size_t descriptor_capacity() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return SIZE_MAX;
  std::size_t open = 0;
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) ++open;
  constexpr std::size_t reserve = 16;
  constexpr std::size_t per_transfer = 2;
  const auto limit_now = static_cast<std::size_t>(limit.rlim_cur);
  if (open + reserve + per_transfer >= limit_now) return 1;
  return (limit_now - open - reserve) / per_transfer;
}

/// Takes the next URL until none is left or the run stops. An item that finished by itself goes
/// to the caller's hook before the worker takes another, so a hook that waits holds the place
/// (back-pressure). A hook's exception (cancellation included) ends the worker and stops the run.
aio::task<void> worker(session& s, run_state& st) {
  while (!st.stopping && st.next < st.items.size()) {
    const std::size_t i = st.next++;
    auto fetching = fetch_one(s, st, i);
    co_await std::move(fetching);
    if (!st.options.on_item_done || st.results[i].outcome == fetch_outcome::cancelled) continue;
    try {
      auto hook = st.options.on_item_done(i, st.results[i]);
      co_await std::move(hook);
    } catch (...) {
      st.stopping = true;
      throw;
    }
  }
}

}  // namespace

std::optional<fetch_item> parse_fetch_line(std::string_view line) {
  line = trim(line);
  if (line.empty() || line.front() == '#') return std::nullopt;
  fetch_item item;
  if (const auto tab = line.find('\t'); tab != std::string_view::npos) {
    item.url = std::string(trim(line.substr(0, tab)));
    item.name = std::string(trim(line.substr(tab + 1)));
  } else {
    item.url = std::string(line);
  }
  return item;
}

int default_fetch_loops() noexcept { return std::thread::hardware_concurrency() >= 2 ? 2 : 1; }

std::vector<std::filesystem::path> plan_paths(const std::vector<fetch_item>& items, const std::filesystem::path& dir) {
  name_allocator names;
  // Paths given directly in `dir` first, so that no derived name takes theirs.
  const auto in_dir = [normal_dir = (dir / "").lexically_normal()](const std::filesystem::path& p) {
    return (p.parent_path() / "").lexically_normal() == normal_dir;
  };
  for (const auto& item : items) {
    if (!item.path.empty() && in_dir(item.path)) (void)names.claim(item.path.filename().string());
  }
  std::vector<std::filesystem::path> out;
  out.reserve(items.size());
  for (const auto& item : items) {
    if (!item.path.empty()) {
      out.push_back(item.path);
      continue;
    }
    const std::string base = item.name.empty() ? file_name_for(item.url) : sanitize_file_name(item.name);
    out.push_back(dir / names.claim(base));
  }
  return out;
}

std::string fetch_result::to_json() const {
  return fmt::format(
      R"({{"url":{},"status":{},"bytes":{},"path":{},"attempts":{},"seconds":{:.3f},"outcome":"{}","error":{}}})",
      json_string(url), status, bytes, json_string(path.string()), attempts, seconds,
      outcome == fetch_outcome::ok        ? "ok"
      : outcome == fetch_outcome::skipped ? "skipped"
      : outcome == fetch_outcome::failed  ? "failed"
                                          : "cancelled",
      error.empty() ? std::string("null") : json_string(error));
}

aio::task<std::vector<fetch_result>> fetch_all(session& s, std::vector<fetch_item> items, fetch_options options,
                                               fetch_progress* progress) {
  auto st = std::make_unique<run_state>();
  st->paths = plan_paths(items, options.output_dir);
  st->results.resize(items.size());
  st->items_progress.resize(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    st->results[i].url = items[i].url;
    st->results[i].path = st->paths[i];
    st->results[i].error = "not started (cancelled)";
    st->results[i].error_kind = "cancelled";
  }
  st->items = std::move(items);
  st->options = std::move(options);
  st->progress = progress;
  if (progress != nullptr) {
    *progress = fetch_progress{};
    progress->total = st->items.size();
    progress->unsized = st->items.size();
  }
  const std::size_t n = std::min({std::max<std::size_t>(st->options.concurrency, 1), st->items.size(),
                                  std::max<std::size_t>(descriptor_capacity(), 1)});
  std::vector<aio::task<void>> workers;
  workers.reserve(n);
  for (std::size_t w = 0; w < n; ++w) workers.push_back(worker(s, *st));
  std::exception_ptr hook_error;
  try {
    // Fail fast: a worker raises only a cancellation or what a hook raised, and either stops
    // every transfer.
    auto all = aio::gather(std::move(workers));
    co_await std::move(all);
  } catch (const cancelled_error&) {
    // Every worker has ended (gather waits for its children); unfinished items say cancelled.
    st->stopping = true;
  } catch (...) {
    st->stopping = true;
    hook_error = std::current_exception();
  }
  // URLs never started end as cancelled too: count them, so that the counters agree with the
  // results (a display that said "2 cancelled" over a summary of 3 would mislead).
  if (progress != nullptr) {
    for (std::size_t i = st->next; i < st->items.size(); ++i) {
      ++progress->done;
      ++progress->cancelled;
      --progress->unsized;
    }
  }
  if (hook_error) std::rethrow_exception(hook_error);
  co_return std::move(st->results);
}

}  // namespace trident::http
