// The `http` suite of `trident bench`: downloads from a local nginx through Trident's HTTP
// session and through its peers, in one run.
//
// Method
//   1. A temporary prefix gets 200 files of 75,000 random bytes and one of 1,024 bytes, and an
//      nginx configuration (compare/http/nginx.conf.in) on a free 127.0.0.1 port. nginx runs in
//      the foreground as a child process; it is stopped (SIGQUIT, then waited for) when the suite
//      ends, also when a case throws.
//   2. files_200x75k (seconds, lower is better): the 200 files into an empty directory, 50 at a
//      time — `trident fetch -j 50` (http::fetch_all in this process, the code the command runs, on
//      the command's default loops, http::default_fetch_loops; `trident_2loops`: two loops always),
//      compare/http/aiohttp_bench.py (one ClientSession, Semaphore(50), chunks written as they
//      arrive; timed inside Python, start-up excluded), and `curl --parallel --parallel-max 50`
//      (one process, timed from outside). `disk_only` is the file system's share alone: the same
//      files written from memory by one thread through `trident::atomic_file`, as fetch writes
//      them (unnamed temporary, then a name), with no network — the bound for a case whose time
//      goes to creating files.
//   3. files_5000x10k (seconds, lower is better): 5,000 files of 10,000 bytes, 200 at a time —
//      where per-file costs (system calls, file creation, scheduling) dominate, not bandwidth.
//      Trident as in 2; `curl --parallel --parallel-max 200` and `wget2 --max-threads 200`
//      (one process each, timed from outside), and `disk_only` as in 2. The files are made only
//      when the case runs.
//   4. requests_1k (requests/s, higher is better): 10,000 GETs of the 1 KB file, 50 in flight —
//      through http::session in this process and through aiohttp, and `wrk -t2 -c50 -d3s` as the
//      ceiling of what nginx serves here.
//   5. The shared runner (runner.hpp): one untimed Trident run per case, then `repeat` rounds,
//      each running every implementation once in turn, so load from other processes on a shared
//      machine hits all alike; the median of the rounds is reported, with its range. The peers
//      are external implementations: a command per round, its output parsed.

#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "bench_suites.hpp"
#include "compare_scripts.hpp"
#include "interruption.hpp"
#include "report.hpp"
#include "runner.hpp"
#include "trident/aio/event_loop.hpp"
#include "trident/aio/gather.hpp"
#include "trident/aio/run.hpp"
#include "trident/core/atomic_file.hpp"
#include "trident/http/fetch.hpp"
#include "trident/http/session.hpp"
#include "trident/testing/http_server.hpp"

extern char** environ;

namespace trident::bench {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int file_count = 200;
constexpr std::size_t file_bytes = 75'000;
constexpr int request_count = 10'000;
constexpr int concurrency = 50;
constexpr int small_file_count = 5'000;
constexpr std::size_t small_file_bytes = 10'000;
constexpr int small_concurrency = 200;

fs::path http_compare_dir() { return compare_dir() / "http"; }

bool port_open(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

/// The prefix folders of runs that ended without removing theirs (killed with SIGKILL): each
/// names the process that made it in its `owner` file, and a folder whose process is gone is
/// removed. A folder without that file, or whose process lives, is left alone.
void remove_dead_runs_prefixes(const fs::path& temp) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(temp, ec)) {
    if (!entry.path().filename().string().starts_with("trident-bench-http-")) continue;
    std::ifstream owner(entry.path() / "owner");
    long pid = 0;
    if (!(owner >> pid) || pid <= 0) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    // A peer program of that run may still be finishing its round in the folder: a few tries.
    for (int attempt = 0; attempt < 3 && fs::exists(entry.path()); ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(200ms);
      fs::remove_all(entry.path(), ec);
    }
  }
}

/// The nginx program: /usr/sbin/nginx, else the first `nginx` on PATH.
std::string nginx_program() {
  if (::access("/usr/sbin/nginx", X_OK) == 0) return "/usr/sbin/nginx";
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (std::size_t start = 0; start <= dirs.size();) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    const fs::path candidate = fs::path(dirs.substr(start, end - start)) / "nginx";
    if (end > start && ::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    start = end + 1;
  }
  throw std::runtime_error("cannot start nginx (is nginx-light installed?)");
}

/// The files and a running nginx serving them; stops nginx and removes everything on exit, also
/// when the run is interrupted (interruption.hpp). nginx gets SIGTERM when this process ends,
/// even by SIGKILL (PR_SET_PDEATHSIG), so it never outlives the run.
class nginx_fixture {
 public:
  explicit nginx_fixture(bool small_files) {
    remove_dead_runs_prefixes(fs::temp_directory_path());
    std::string tmpl = (fs::temp_directory_path() / "trident-bench-http-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    prefix_ = tmpl;
    std::ofstream(prefix_ / "owner") << ::getpid() << '\n';
    ::chmod(prefix_.c_str(), 0755);  // nginx workers may run as another user
    fs::create_directories(prefix_ / "www");
    fs::create_directories(prefix_ / "tmp");
    std::mt19937_64 rng(75);
    std::string data(file_bytes, '\0');
    for (int i = 0; i < file_count; ++i) {
      for (auto& c : data) c = static_cast<char>(rng());
      std::ofstream(prefix_ / "www" / fmt::format("f{:03}.bin", i), std::ios::binary) << data;
    }
    std::ofstream(prefix_ / "www" / "one_k.bin", std::ios::binary) << std::string(1024, 'k');
    if (small_files) {
      fs::create_directories(prefix_ / "www" / "small");
      std::string small(small_file_bytes, '\0');
      for (int i = 0; i < small_file_count; ++i) {
        for (auto& c : small) c = static_cast<char>(rng());
        std::ofstream(prefix_ / "www" / "small" / fmt::format("s{:04}.bin", i), std::ios::binary) << small;
      }
    }

    port_ = trident::testing::closed_loopback_port();  // free a moment ago: nginx takes it
    std::ifstream in(http_compare_dir() / "nginx.conf.in");
    if (!in) throw std::runtime_error("cannot read " + (http_compare_dir() / "nginx.conf.in").string());
    std::string conf((std::istreambuf_iterator<char>(in)), {});
    auto replace_all = [&conf](const std::string& from, const std::string& to) {
      for (std::size_t p; (p = conf.find(from)) != std::string::npos;) conf.replace(p, from.size(), to);
    };
    replace_all("@PREFIX@", prefix_.string());
    replace_all("@PORT@", std::to_string(port_));
    std::ofstream(prefix_ / "nginx.conf") << conf;

    std::string nginx;
    try {
      nginx = nginx_program();
    } catch (...) {
      fs::remove_all(prefix_);
      throw;
    }
    const std::string log = (prefix_ / "nginx.log").string();
    const std::string p = prefix_.string(), c = (prefix_ / "nginx.conf").string();
    std::vector<char*> argv{const_cast<char*>(nginx.c_str()), const_cast<char*>("-p"),
                            const_cast<char*>(p.c_str()),     const_cast<char*>("-c"),
                            const_cast<char*>(c.c_str()),     nullptr};
    // fork + exec rather than posix_spawn, for PR_SET_PDEATHSIG; between the two the child
    // makes only async-signal-safe calls.
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(127);  // the run ended already
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      ::execv(nginx.c_str(), argv.data());
      ::_exit(127);
    }
    if (pid_ < 0) {
      fs::remove_all(prefix_);
      throw std::runtime_error("cannot start nginx: fork failed");
    }
    stop_on_interruption_.emplace([pid = pid_, prefix = prefix_] {
      // SIGTERM: nginx's fast shutdown, in which the master also ends its workers (a master
      // killed outright would leave them serving). SIGKILL if it has not ended in a second.
      ::kill(pid, SIGTERM);
      for (int i = 0;; ++i) {
        int status = 0;
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD)) break;
        if (i == 100) ::kill(pid, SIGKILL);
        ::usleep(10'000);
      }
      std::error_code ec;
      fs::remove_all(prefix, ec);
    });
    for (int i = 0; i < 500 && !port_open(port_); ++i) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        std::ifstream l(log);
        std::string text((std::istreambuf_iterator<char>(l)), {});
        stop_on_interruption_.reset();
        fs::remove_all(prefix_);
        throw std::runtime_error(WIFEXITED(status) && WEXITSTATUS(status) == 127 && text.empty()
                                     ? "cannot start nginx (" + nginx + ")"
                                     : "nginx exited at start: " + text);
      }
      std::this_thread::sleep_for(10ms);
    }
  }
  nginx_fixture(const nginx_fixture&) = delete;
  nginx_fixture& operator=(const nginx_fixture&) = delete;
  ~nginx_fixture() {
    if (pid_ > 0) {
      ::kill(pid_, SIGQUIT);
      int status = 0;
      for (int i = 0; i < 300; ++i) {
        if (::waitpid(pid_, &status, WNOHANG) == pid_) break;
        if (i == 200) ::kill(pid_, SIGKILL);
        std::this_thread::sleep_for(10ms);
      }
    }
    stop_on_interruption_.reset();
    std::error_code ec;
    fs::remove_all(prefix_, ec);
  }

  [[nodiscard]] std::string url(const std::string& path) const {
    return fmt::format("http://127.0.0.1:{}/{}", port_, path);
  }
  [[nodiscard]] const fs::path& prefix() const noexcept { return prefix_; }

  /// An empty directory for one download run (the previous one removed).
  fs::path fresh_dir(const std::string& name) const {
    const fs::path d = prefix_ / "out" / name;
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
  }

 private:
  fs::path prefix_;
  int port_ = 0;
  pid_t pid_ = -1;
  std::optional<on_interruption> stop_on_interruption_;
};

std::size_t count_complete(const fs::path& dir, std::size_t bytes = file_bytes) {
  std::size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    n += (e.is_regular_file() && e.file_size() == bytes) ? 1 : 0;
  return n;
}

std::string small_url(const nginx_fixture& f, int i) { return f.url(fmt::format("small/s{:04}.bin", i)); }

/// One many-files workload: what every implementation downloads, how many at a time, and how a
/// run is checked (every file present with its full size).
struct file_set {
  const char* case_name;
  const char* dir;  ///< prefix of each implementation's output folder
  int count;
  std::size_t bytes;
  int concurrency;
  std::string (*url)(const nginx_fixture& f, int i);
  std::string (*file_name)(int i);
};

const file_set large_files{"files_200x75k",
                           "",
                           file_count,
                           file_bytes,
                           concurrency,
                           [](const nginx_fixture& f, int i) { return f.url(fmt::format("f{:03}.bin", i)); },
                           [](int i) { return fmt::format("f{:03}.bin", i); }};
const file_set small_files{
    "files_5000x10k", "-small", small_file_count, small_file_bytes, small_concurrency, &small_url, [](int i) {
      return fmt::format("s{:04}.bin", i);
    }};

/// The peers' commands write into fresh directories; a run that left files missing failed.
void check_complete(const fs::path& dir, const file_set& set, const std::string& impl) {
  if (count_complete(dir, set.bytes) != static_cast<std::size_t>(set.count)) {
    throw unavailable_error(fmt::format("{} left files missing", impl));
  }
}

// -- the workloads -----------------------------------------------------------------------------

/// `http::fetch_all` in this process: what `trident fetch` runs.
double trident_files(const nginx_fixture& f, const file_set& set, int loops) {
  const fs::path dir = f.fresh_dir(fmt::format("trident{}-{}", set.dir, loops));
  std::vector<http::fetch_item> items;
  for (int i = 0; i < set.count; ++i) items.push_back({set.url(f, i), ""});
  auto main = [&]() -> aio::task<double> {
    const auto start = std::chrono::steady_clock::now();
    http::session_options so;
    so.max_connections = static_cast<std::size_t>(set.concurrency);
    so.loops = loops;
    http::session s(so);
    http::fetch_options o;
    o.output_dir = dir;
    o.concurrency = static_cast<std::size_t>(set.concurrency);
    auto results = co_await http::fetch_all(s, items, o);
    for (const auto& r : results) {
      if (!r.succeeded()) throw std::runtime_error("trident fetch failed: " + r.error);
    }
    co_return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  const double seconds = aio::run(main());
  if (count_complete(dir, set.bytes) != static_cast<std::size_t>(set.count))
    throw std::runtime_error("trident: files missing");
  return seconds;
}

/// The file-system bound of a many-files case: the same files, written from memory by one thread
/// the way `http::session::save_to` writes them (atomic_file: an unnamed temporary that gets its
/// name when complete, replacing), into a fresh directory. No network, no event loop.
double disk_only_files(const nginx_fixture& f, const file_set& set) {
  const fs::path dir = f.fresh_dir(fmt::format("disk{}", set.dir));
  const std::string content(set.bytes, 'x');
  const auto start = std::chrono::steady_clock::now();
  atomic_file::options o;
  o.if_exists = atomic_file::existing::replace;
  for (int i = 0; i < set.count; ++i) {
    atomic_file file(dir / set.file_name(i), o);
    file.write(std::span<const char>(content));
    file.commit();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (count_complete(dir, set.bytes) != static_cast<std::size_t>(set.count))
    throw std::runtime_error("disk_only: files missing");
  return seconds;
}

std::string aiohttp_script() {
  return shell_quote(python_interpreter()) + " " + shell_quote((http_compare_dir() / "aiohttp_bench.py").string());
}

/// compare/http/aiohttp_bench.py: one ClientSession, Semaphore(50), timed inside Python.
std::shared_ptr<implementation> aiohttp_files(const std::optional<nginx_fixture>& f) {
  auto command = [&f](const std::vector<row_spec>&) {
    const fs::path dir = f->fresh_dir("aiohttp");
    const fs::path list = f->prefix() / "urls.txt";
    std::ofstream out(list);
    for (int i = 0; i < file_count; ++i) out << f->url(fmt::format("f{:03}.bin", i)) << '\n';
    return fmt::format("{} files {} {}", aiohttp_script(), shell_quote(list.string()), shell_quote(dir.string()));
  };
  auto parse = [&f](const command_output& out, const std::vector<row_spec>& rows) {
    check_complete(f->prefix() / "out" / "aiohttp", large_files, "aiohttp");
    return json_figures(out.text, rows);
  };
  return std::make_shared<external_impl>("aiohttp", std::move(command), std::move(parse));
}

/// `curl --parallel`: one process, timed from outside (its start included).
std::shared_ptr<implementation> curl_files(const std::optional<nginx_fixture>& f, const file_set& set) {
  auto command = [&f, &set](const std::vector<row_spec>&) {
    const fs::path dir = f->fresh_dir(std::string("curl") + set.dir);
    const fs::path cfg = f->prefix() / (std::string("curl") + set.dir + ".cfg");
    std::ofstream out(cfg);
    for (int i = 0; i < set.count; ++i) {
      out << "url = \"" << set.url(*f, i) << "\"\n";
      out << "output = \"" << (dir / set.file_name(i)).string() << "\"\n";
    }
    return fmt::format("curl -s --no-progress-meter --fail --parallel --parallel-max {} -K {} 2>/dev/null",
                       set.concurrency, shell_quote(cfg.string()));
  };
  auto parse = [&f, &set](const command_output& out, const std::vector<row_spec>&) {
    check_complete(f->prefix() / "out" / (std::string("curl") + set.dir), set, "curl (>= 7.66 needed for --parallel)");
    return std::vector<figure>{{set.case_name, out.seconds, "s"}};
  };
  return std::make_shared<external_impl>("curl", std::move(command), std::move(parse));
}

// -- files_5000x10k ----------------------------------------------------------------------------

/// GNU Wget2 (Debian's `wget2`): threads, one connection each, HTTP/1.1 keep-alive.
std::shared_ptr<implementation> wget2_small_files(const std::optional<nginx_fixture>& f) {
  auto command = [&f](const std::vector<row_spec>&) {
    const fs::path dir = f->fresh_dir("wget2-small");
    const fs::path list = f->prefix() / "wget2-small.txt";
    std::ofstream out(list);
    for (int i = 0; i < small_file_count; ++i) out << small_url(*f, i) << '\n';
    return fmt::format("wget2 -q --no-robots --max-threads={} -P {} -i {} 2>/dev/null", small_concurrency,
                       shell_quote(dir.string()), shell_quote(list.string()));
  };
  auto parse = [&f](const command_output& out, const std::vector<row_spec>&) {
    check_complete(f->prefix() / "out" / "wget2-small", small_files, "wget2 (Debian package wget2)");
    return std::vector<figure>{{"files_5000x10k", out.seconds, "s"}};
  };
  return std::make_shared<external_impl>("wget2", std::move(command), std::move(parse));
}

double trident_requests(const nginx_fixture& f, int loops) {
  const std::string url = f.url("one_k.bin");
  auto main = [&]() -> aio::task<double> {
    http::session_options so;
    so.max_connections = concurrency;
    so.loops = loops;
    http::session s(so);
    int remaining = request_count;
    std::size_t bytes = 0;
    auto worker = [&]() -> aio::task<void> {
      while (remaining > 0) {
        --remaining;
        http::response r = co_await s.get(url);
        if (r.status() != 200) throw std::runtime_error(fmt::format("status {}", r.status()));
        bytes += r.body().size();
      }
    };
    const auto start = std::chrono::steady_clock::now();
    std::vector<aio::task<void>> workers;
    for (int i = 0; i < concurrency; ++i) workers.push_back(worker());
    co_await aio::gather(std::move(workers));
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (bytes != static_cast<std::size_t>(request_count) * 1024) throw std::runtime_error("short bodies");
    co_return request_count / secs;
  };
  return aio::run(main());
}

std::shared_ptr<implementation> aiohttp_requests(const std::optional<nginx_fixture>& f) {
  auto command = [&f](const std::vector<row_spec>&) {
    return fmt::format("{} requests {} {}", aiohttp_script(), shell_quote(f->url("one_k.bin")), request_count);
  };
  return std::make_shared<external_impl>("aiohttp", std::move(command));
}

/// `wrk -t2 -c50 -d3s`: the ceiling of what nginx serves here.
std::shared_ptr<implementation> wrk_requests(const std::optional<nginx_fixture>& f) {
  auto command = [&f](const std::vector<row_spec>&) {
    return fmt::format("wrk -t2 -c{} -d3s {}", concurrency, shell_quote(f->url("one_k.bin")));
  };
  auto parse = [](const command_output& out, const std::vector<row_spec>&) {
    const auto p = out.text.find("Requests/sec:");
    if (p == std::string::npos) throw unavailable_error("wrk printed no Requests/sec");
    return std::vector<figure>{{"requests_1k", std::stod(out.text.substr(p + 13)), "req/s"}};
  };
  return std::make_shared<external_impl>("wrk", std::move(command), std::move(parse));
}

}  // namespace

int run_http_suite(const bench_options& options) {
  suite_runner runner("http", options, std::chrono::milliseconds(50));
  std::optional<nginx_fixture> server;  // started once the --case names are checked
  {
    bench_case c{{{"files_200x75k", "s", false}}, "", {}, {}, {}};
    c.impls.push_back(std::make_shared<in_process_impl>(
        "trident", [&server] { return trident_files(*server, large_files, http::default_fetch_loops()); }));
    c.impls.push_back(std::make_shared<in_process_impl>("trident_2loops",
                                                        [&server] { return trident_files(*server, large_files, 2); }));
    c.impls.push_back(aiohttp_files(server));
    c.impls.push_back(curl_files(server, large_files));
    c.impls.push_back(
        std::make_shared<in_process_impl>("disk_only", [&server] { return disk_only_files(*server, large_files); }));
    runner.add(std::move(c));
  }
  {
    bench_case c{{{"files_5000x10k", "s", false}}, "", {}, {}, {}};
    c.impls.push_back(std::make_shared<in_process_impl>(
        "trident", [&server] { return trident_files(*server, small_files, http::default_fetch_loops()); }));
    c.impls.push_back(std::make_shared<in_process_impl>("trident_2loops",
                                                        [&server] { return trident_files(*server, small_files, 2); }));
    c.impls.push_back(curl_files(server, small_files));
    c.impls.push_back(wget2_small_files(server));
    c.impls.push_back(
        std::make_shared<in_process_impl>("disk_only", [&server] { return disk_only_files(*server, small_files); }));
    runner.add(std::move(c));
  }
  {
    bench_case c{{{"requests_1k", "req/s", true}}, "", {}, {}, {}};
    c.impls.push_back(std::make_shared<in_process_impl>("trident", [&server] { return trident_requests(*server, 1); }));
    c.impls.push_back(
        std::make_shared<in_process_impl>("trident_2loops", [&server] { return trident_requests(*server, 2); }));
    c.impls.push_back(aiohttp_requests(server));
    c.impls.push_back(wrk_requests(server));
    runner.add(std::move(c));
  }
  // Each target for a session on one loop (`trident`) and on two (`trident_2loops`).
  for (const char* impl : {"trident", "trident_2loops"}) {
    runner.add_target({"files_200x75k", impl, "curl", 2.0, ">=2x as fast as curl --parallel"});
    runner.add_target({"files_200x75k", impl, "curl", 1.5, ">=1.5x as fast as curl --parallel"});
    runner.add_target({"files_200x75k", impl, "aiohttp", 3.0, ">=3x as fast as aiohttp"});
    runner.add_target({"files_5000x10k", impl, "curl", 1.2, ">=1.2x as fast as curl --parallel"});
    runner.add_target({"requests_1k", impl, "wrk", 0.5, ">=0.5x wrk's requests/s"});
    runner.add_target({"requests_1k", impl, "aiohttp", 8.0, ">=8x aiohttp's requests/s"});
  }
  runner.check_requested_cases();
  runner.note(fmt::format("median of {} round(s); each round runs every implementation once, in turn", options.repeat));
  server.emplace(runner.wanted("files_5000x10k"));
  suite_results out = runner.run();
  server.reset();
  // What the file system alone takes (disk_only) bounds the download cases from below.
  for (const char* impl : {"trident", "trident_2loops"}) {
    const std::string who = std::string(impl) == "trident" ? "" : " (2 loops)";
    for (const char* c : {"files_200x75k", "files_5000x10k"}) {
      const result* t = find_result(out.rows, c, impl);
      const result* d = find_result(out.rows, c, "disk_only");
      if (t != nullptr && d != nullptr && d->value > 0) {
        out.notes.push_back(
            fmt::format("bound {}{}: {:.2f}x the file system's own time (disk_only)", c, who, t->value / d->value));
      }
    }
  }
  return report_suite_results(out, options);
}

}  // namespace trident::bench
