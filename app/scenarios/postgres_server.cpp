// postgres_server: a private PostgreSQL server, run by the "postgres" scenario service. The steps
// are numbered in postgres_server.hpp; this file follows them.

#include "postgres_server.hpp"

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "proc_text.hpp"
#include "scenario.hpp"

namespace trident::scenarios {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr const char* dir_prefix = "trident-pg-";
constexpr const char* superuser = "trident";
constexpr const char* install_hint = "PostgreSQL is not installed: sudo apt-get install postgresql";

// -- Small helpers -------------------------------------------------------------------------------

/// A libpq connection-string value, quoted.
std::string conninfo_quote(const std::string& value) {
  std::string out = "'";
  for (const char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

std::string conninfo_for(const fs::path& directory) {
  return "host=" + conninfo_quote((directory / "run").string()) + " port=5432 user=" + superuser +
         " dbname=postgres gssencmode=disable connect_timeout=30";
}

/// Field 22 of /proc/PID/stat (start time in clock ticks since boot): with the pid, it names one
/// process for good, whatever pid is reused later. Empty when no such process runs.
std::string start_time_of(pid_t pid) {
  const std::string stat = read_proc_text("/proc/" + std::to_string(pid) + "/stat");
  const auto paren = stat.rfind(')');
  if (paren == std::string::npos) return {};
  std::istringstream fields(stat.substr(paren + 2));
  std::string field;
  // After "pid (comm) ", the state is field 3; the start time is field 22.
  for (int i = 3; i <= 22 && (fields >> field); ++i) {
    if (i == 3 && field == "Z") return {};  // exited, waiting for its parent
  }
  return fields ? field : std::string();
}

/// The last `count` non-empty lines of a log file.
std::vector<std::string> tail_lines(const fs::path& path, std::size_t count) {
  std::ifstream in(path);
  std::deque<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    lines.push_back(std::move(line));
    if (lines.size() > count) lines.pop_front();
  }
  return {lines.begin(), lines.end()};
}

/// A failure of the start, with what to tell the starter.
struct start_failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void fail_errno(const std::string& what) { throw start_failure(what + ": " + std::strerror(errno)); }

// -- Stale directories (step 1) ------------------------------------------------------------------

/// The pid in "trident-pg-<pid>-XXXXXX", or 0.
pid_t pid_in_name(const std::string& name) {
  if (name.rfind(dir_prefix, 0) != 0) return 0;
  const std::string rest = name.substr(std::strlen(dir_prefix));
  const auto dash = rest.find('-');
  if (dash == std::string::npos || dash == 0 || dash > 9) return 0;  // pids have at most 7 digits
  pid_t pid = 0;
  for (std::size_t i = 0; i < dash; ++i) {
    if (rest[i] < '0' || rest[i] > '9') return 0;
    pid = pid * 10 + (rest[i] - '0');
  }
  return pid;
}

/// Whether the service that made `dir` still runs: its pid (from the name) is alive with the start
/// time the owner file recorded (or at all, when the file is not written yet).
bool owner_running(const fs::path& dir) {
  const pid_t pid = pid_in_name(dir.filename().string());
  if (pid <= 0) return false;
  const std::string now = start_time_of(pid);
  if (now.empty()) return false;
  std::istringstream owner(read_proc_text(dir / "owner"));
  pid_t recorded_pid = 0;
  std::string recorded_start;
  if (!(owner >> recorded_pid >> recorded_start)) return true;  // being set up right now
  return recorded_pid == pid && recorded_start == now;
}

/// The processes working in `data_dir`: a PostgreSQL server's postmaster and every process it
/// started. Each of those leads a session of its own (PostgreSQL calls setsid in every child),
/// and they outlive a postmaster that was killed until they notice, so neither the process
/// group nor the parent finds them all; their working directory, the data directory, does.
std::vector<pid_t> processes_in(const fs::path& data_dir) {
  std::vector<pid_t> found;
  const std::string wanted = data_dir.string();
  const std::string wanted_deleted = wanted + " (deleted)";
  std::error_code ec;
  for (fs::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code link_error;
    const std::string cwd = fs::read_symlink(it->path() / "cwd", link_error).string();
    if (!link_error && (cwd == wanted || cwd == wanted_deleted)) found.push_back(std::atoi(name.c_str()));
  }
  return found;
}

/// SIGKILLs every process working in `data_dir` and waits up to `limit` for them to be gone.
void kill_processes_in(const fs::path& data_dir, milliseconds limit) {
  const auto deadline = steady_clock::now() + limit;
  for (;;) {
    std::vector<pid_t> left;
    for (const pid_t pid : processes_in(data_dir)) {
      if (!start_time_of(pid).empty()) left.push_back(pid);  // not a zombie
    }
    if (left.empty() || steady_clock::now() >= deadline) return;
    for (const pid_t pid : left) ::kill(pid, SIGKILL);
    std::this_thread::sleep_for(milliseconds(10));
  }
}

// -- Child processes (step 3) --------------------------------------------------------------------

/// Who runs initdb and postgres.
struct identity {
  uid_t uid = 0;
  gid_t gid = 0;
  bool change = false;  ///< The service is root: become `uid`/`gid` in the child.
};

identity server_identity() {
  if (::geteuid() != 0) return {::geteuid(), ::getegid(), false};
  const passwd* nobody = ::getpwnam("nobody");
  if (nobody == nullptr) {
    throw start_failure(
        "running as root, and there is no user 'nobody' to run PostgreSQL as "
        "(PostgreSQL refuses to run as root)");
  }
  return {nobody->pw_uid, nobody->pw_gid, true};
}

/// What a child is started with; everything is prepared before fork, so the child only makes
/// async-signal-safe calls.
struct child_spec {
  std::vector<std::string> argv;
  std::vector<std::string> env;
  fs::path cwd;
  int log_fd = -1;
  int death_signal = SIGKILL;
  identity who;
  sigset_t mask{};  ///< The signal mask to restore (the service blocks its stop signals).
};

/// Writes "trident: WHAT failed (errno N)" to the log and ends the child; async-signal-safe.
[[noreturn]] void child_fail(int log_fd, const char* what) {
  const int error = errno;
  char number[16];
  int used = 0;
  for (int e = error > 0 ? error : 0; used == 0 || e > 0; e /= 10) number[used++] = static_cast<char>('0' + e % 10);
  const auto put = [log_fd](const char* text, std::size_t size) {
    [[maybe_unused]] const ssize_t n = ::write(log_fd, text, size);
  };
  put("trident: ", 9);
  put(what, std::strlen(what));
  put(" failed (errno ", 15);
  while (used > 0) put(&number[--used], 1);
  put(")\n", 2);
  ::_exit(126);
}

/// Forks and execs `spec` in a process group of its own. Returns the child's pid.
pid_t start_child(const child_spec& spec) {
  std::vector<char*> argv;
  std::vector<char*> env;
  std::vector<std::string> argv_copy = spec.argv;
  std::vector<std::string> env_copy = spec.env;
  for (auto& a : argv_copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env_copy) env.push_back(e.data());
  env.push_back(nullptr);
  const std::string cwd = spec.cwd.string();
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) fail_errno("cannot open /dev/null");
  const pid_t service = ::getpid();
  const pid_t child = ::fork();
  if (child < 0) {
    ::close(null_fd);
    fail_errno("cannot fork");
  }
  if (child == 0) {
    ::setpgid(0, 0);
    ::sigprocmask(SIG_SETMASK, &spec.mask, nullptr);
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    ::sigaction(SIGPIPE, &default_action, nullptr);  // the service ignores it; the server need not
    if (::dup2(null_fd, 0) < 0 || ::dup2(spec.log_fd, 1) < 0 || ::dup2(spec.log_fd, 2) < 0) {
      child_fail(spec.log_fd, "redirecting output");
    }
    ::close_range(3, ~0U, 0);  // nothing of the starter's or the service's stays open in the server
    if (::chdir(cwd.c_str()) != 0) child_fail(1, "chdir to the run's directory");
    if (spec.who.change) {
      if (::setgroups(0, nullptr) != 0) child_fail(1, "setgroups");
      if (::setgid(spec.who.gid) != 0) child_fail(1, "setgid");
      if (::setuid(spec.who.uid) != 0) child_fail(1, "setuid");
    }
    // After the user change, which clears it; then make sure the service did not die before.
    if (::prctl(PR_SET_PDEATHSIG, spec.death_signal) != 0) child_fail(1, "prctl(PR_SET_PDEATHSIG)");
    if (::getppid() != service) ::_exit(1);
    ::execve(argv[0], argv.data(), env.data());
    child_fail(1, argv[0]);
  }
  ::close(null_fd);
  ::setpgid(child, child);  // also here, so the group exists before anyone signals it
  return child;
}

// -- The service ---------------------------------------------------------------------------------

/// What the service listens to while it waits: its release descriptor and its stop signals.
class stop_watch {
 public:
  stop_watch(int life_fd, int signal_fd) : life_fd_(life_fd), signal_fd_(signal_fd) {}

  /// Waits up to `timeout` for a reason to stop; true when there is one (it stays true).
  bool wait(milliseconds timeout) {
    if (stopping_) return true;
    pollfd fds[2] = {{life_fd_, POLLIN, 0}, {signal_fd_, POLLIN, 0}};
    const int ready = ::poll(fds, 2, static_cast<int>(timeout.count()));
    if (ready > 0 && (fds[0].revents != 0 || fds[1].revents != 0)) stopping_ = true;
    return stopping_;
  }
  [[nodiscard]] bool stopping() { return wait(milliseconds(0)); }

 private:
  int life_fd_;
  int signal_fd_;
  bool stopping_ = false;
};

/// A child's end, if it ended.
std::optional<int> reap(pid_t pid) {
  int status = 0;
  const pid_t r = ::waitpid(pid, &status, WNOHANG);
  if (r == pid) return status;
  if (r < 0 && errno == ECHILD) return 0;
  return std::nullopt;
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("was killed by ") + ::strsignal(WTERMSIG(status));
  return "ended";
}

struct service_state {
  fs::path directory;
  fs::path log;  ///< The log of the step under way (initdb.log, then server.log).
  int log_fd = -1;
  pid_t server = 0;
  bool server_reaped = false;
};

/// Opens `name` in the run's directory as the log of the next step (closing the last one).
int open_log(service_state& state, const char* name) {
  if (state.log_fd >= 0) ::close(state.log_fd);
  state.log = state.directory / name;
  state.log_fd = ::open(state.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (state.log_fd < 0) fail_errno("cannot create " + state.log.string());
  return state.log_fd;
}

/// Step 5: a fast shutdown; after `grace`, SIGKILL. Then any process still working in the data
/// directory (a backend of a postmaster that died) is killed too.
void stop_server(service_state& state, std::chrono::seconds grace) {
  if (state.server > 0 && !state.server_reaped) {
    ::kill(state.server, SIGINT);
    const auto deadline = steady_clock::now() + grace;
    while (!state.server_reaped && steady_clock::now() < deadline) {
      if (reap(state.server)) {
        state.server_reaped = true;
      } else {
        std::this_thread::sleep_for(milliseconds(10));
      }
    }
    if (!state.server_reaped) {
      ::kill(state.server, SIGKILL);
      int status = 0;
      while (::waitpid(state.server, &status, 0) < 0 && errno == EINTR) {}
      state.server_reaped = true;
    }
  }
  if (!state.directory.empty()) kill_processes_in(state.directory / "data", std::chrono::seconds(10));
}

/// Runs initdb to its end (or until told to stop, or the deadline).
void run_initdb(const child_spec& spec, stop_watch& stop, steady_clock::time_point deadline) {
  const pid_t pid = start_child(spec);
  for (;;) {
    if (const auto status = reap(pid)) {
      if (WIFEXITED(*status) && WEXITSTATUS(*status) == 0) return;
      throw start_failure("initdb " + describe_status(*status));
    }
    const bool timed_out = steady_clock::now() >= deadline;
    if (timed_out || stop.wait(milliseconds(20))) {
      ::kill(-pid, SIGKILL);
      int status = 0;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
      throw start_failure(timed_out ? "initdb did not finish in time" : "stopped while initdb ran");
    }
  }
}

/// Waits until the server answers, ends, or the time runs out.
void wait_until_accepting(service_state& state, const std::string& conninfo, stop_watch& stop,
                          steady_clock::time_point deadline) {
  for (;;) {
    if (const auto status = reap(state.server)) {
      state.server_reaped = true;
      throw start_failure("the server " + describe_status(*status));
    }
    if (::PQping(conninfo.c_str()) == PQPING_OK) return;
    if (steady_clock::now() >= deadline) throw start_failure("the server did not accept connections in time");
    if (stop.wait(milliseconds(20))) throw start_failure("stopped while the server started");
  }
}

void postgres_service(proc::queue<std::string> lines, std::vector<std::string> args) {
  // args: bin_dir base_dir start_timeout_s stop_grace_s [setting...]
  if (args.size() < 4) {
    report(lines, "error: the postgres service needs bin_dir, base_dir and two timeouts");
    return;
  }
  const fs::path bin_dir = args[0];
  const fs::path base_dir = args[1];
  const auto start_timeout = std::chrono::seconds(std::atoi(args[2].c_str()));
  const auto stop_grace = std::chrono::seconds(std::atoi(args[3].c_str()));
  const std::vector<std::string> user_settings(args.begin() + 4, args.end());

  // SIGTERM, SIGINT and SIGHUP stop the service in order, like its starter's end.
  sigset_t stop_signals;
  sigset_t original_mask;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);
  ::sigprocmask(SIG_BLOCK, &stop_signals, &original_mask);
  // A write to a peer that is gone fails with EPIPE instead of killing the service before it has
  // cleaned up.
  ::signal(SIGPIPE, SIG_IGN);
  const int signal_fd = ::signalfd(-1, &stop_signals, SFD_CLOEXEC);
  stop_watch stop(proc::release_descriptor(), signal_fd);

  service_state state;
  try {
    sweep_stale_postgres_dirs(base_dir);
    const identity who = server_identity();

    // Step 2: the run's directory.
    std::string pattern = (base_dir / (std::string(dir_prefix) + std::to_string(::getpid()) + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) fail_errno("cannot create a directory in " + base_dir.string());
    state.directory = pattern;
    report(lines, "dir " + state.directory.string());
    if (who.change && ::chmod(pattern.c_str(), 0755) != 0) fail_errno("chmod " + pattern);
    {
      std::ofstream owner(state.directory / "owner");
      owner << ::getpid() << ' ' << start_time_of(::getpid()) << '\n';
      if (!owner.flush()) throw start_failure("cannot write " + (state.directory / "owner").string());
    }
    for (const char* sub : {"data", "run"}) {
      const fs::path path = state.directory / sub;
      if (::mkdir(path.c_str(), 0700) != 0) fail_errno("mkdir " + path.string());
      if (who.change && ::chown(path.c_str(), who.uid, who.gid) != 0) fail_errno("chown " + path.string());
    }
    const auto deadline = steady_clock::now() + start_timeout;
    child_spec spec;
    spec.env = {"PATH=/usr/bin:/bin", "LC_ALL=C", "LANG=C", "TZ=UTC"};
    spec.cwd = state.directory;
    spec.who = who;
    spec.mask = original_mask;

    // Step 4: initdb (SIGTERM on the service's death: initdb then removes what it made) …
    spec.argv = {(bin_dir / "initdb").string(),
                 "-D",
                 (state.directory / "data").string(),
                 "-U",
                 superuser,
                 "-A",
                 "trust",
                 "--no-sync",
                 "--locale=C",
                 "-E",
                 "UTF8"};
    spec.death_signal = SIGTERM;
    spec.log_fd = open_log(state, "initdb.log");
    run_initdb(spec, stop, deadline);

    // … then the server (SIGQUIT on the service's death: immediate shutdown of every backend).
    spec.argv = {(bin_dir / "postgres").string(), "-D", (state.directory / "data").string()};
    const std::vector<std::string> settings = {
        "listen_addresses=",  // no TCP at all
        "unix_socket_directories=" + (state.directory / "run").string(),
        "port=5432",
        "max_connections=300",
        "fsync=off",
        "synchronous_commit=off",
        "full_page_writes=off",
        "autovacuum=off",                     // the set-up vacuums once; nothing runs beside the models
        "max_parallel_workers_per_gather=0",  // the model under test is the only parallelism
        "jit=off",
        "work_mem=64MB",
    };
    for (const auto& s : settings) spec.argv.insert(spec.argv.end(), {"-c", s});
    for (const auto& s : user_settings) spec.argv.insert(spec.argv.end(), {"-c", s});
    spec.death_signal = SIGQUIT;
    spec.log_fd = open_log(state, "server.log");
    state.server = start_child(spec);
    wait_until_accepting(state, conninfo_for(state.directory), stop, deadline);
    report(lines, "ready " + std::to_string(state.server));

    // Serve until released; reap the server if it dies meanwhile (clients then see the error).
    while (!stop.wait(std::chrono::seconds(1))) {
      if (!state.server_reaped && reap(state.server)) state.server_reaped = true;
    }
  } catch (const std::exception& e) {
    report(lines, std::string("error: ") + e.what());
    if (!state.log.empty()) {
      report(lines, "log-name " + state.log.filename().string());
      for (const auto& line : tail_lines(state.log, 12)) report(lines, "log: " + line);
    }
  }
  stop_server(state, stop_grace);
  if (state.log_fd >= 0) ::close(state.log_fd);
  if (!state.directory.empty()) {
    std::error_code ec;
    fs::remove_all(state.directory, ec);
    if (ec) {
      report(lines, "error: cannot remove " + state.directory.string() + ": " + ec.message());
    }
  }
  if (signal_fd >= 0) ::close(signal_fd);
}
TRIDENT_TASK(postgres_service);

std::vector<std::string> service_args(const postgres_options& options) {
  const fs::path bin_dir = options.bin_dir.empty() ? find_postgres_bin_dir() : options.bin_dir;
  for (const char* program : {"initdb", "postgres"}) {
    if (::access((bin_dir / program).c_str(), X_OK) != 0) {
      throw scenario_skipped(std::string(install_hint) + " (no " + (bin_dir / program).string() + ")");
    }
  }
  std::vector<std::string> args{bin_dir.string(), options.base_dir.string(),
                                std::to_string(options.start_timeout.count()),
                                std::to_string(options.stop_grace.count())};
  args.push_back("shared_buffers=" + options.shared_buffers);
  args.insert(args.end(), options.settings.begin(), options.settings.end());
  return args;
}

}  // namespace

fs::path find_postgres_bin_dir() {
  const fs::path root = "/usr/lib/postgresql";
  std::error_code ec;
  fs::path best;
  long best_version = -1;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const std::string name = entry.path().filename().string();
    char* end = nullptr;
    const long version = std::strtol(name.c_str(), &end, 10);
    if (end == name.c_str() || *end != '\0') continue;
    const fs::path bin = entry.path() / "bin";
    if (::access((bin / "initdb").c_str(), X_OK) != 0 || ::access((bin / "postgres").c_str(), X_OK) != 0) continue;
    if (version > best_version) {
      best_version = version;
      best = bin;
    }
  }
  if (best.empty()) throw scenario_skipped(install_hint);
  return best;
}

std::size_t sweep_stale_postgres_dirs(const fs::path& base_dir) {
  std::size_t removed = 0;
  std::error_code ec;
  std::vector<fs::path> stale;
  for (const auto& entry : fs::directory_iterator(base_dir, fs::directory_options::skip_permission_denied, ec)) {
    const fs::path path = entry.path();
    if (pid_in_name(path.filename().string()) <= 0) continue;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid()) continue;
    if (!owner_running(path)) stale.push_back(path);
  }
  for (const auto& path : stale) {
    kill_processes_in(path / "data", std::chrono::seconds(5));  // a server still running there
    std::error_code remove_error;
    fs::remove_all(path, remove_error);
    if (!remove_error) ++removed;
  }
  return removed;
}

postgres_server::postgres_server(const postgres_options& options)
    : service_(&postgres_service, service_args(options), options.stop_grace + std::chrono::seconds(30)) {
  const auto answer_within = std::chrono::duration_cast<milliseconds>(options.start_timeout + std::chrono::seconds(30));
  for (;;) {
    std::string line;
    try {
      line = service_.read_line(answer_within);
    } catch (const std::runtime_error& e) {
      throw std::runtime_error(std::string("PostgreSQL did not start: ") + e.what());
    }
    if (line.rfind("dir ", 0) == 0) {
      directory_ = line.substr(4);
    } else if (line.rfind("ready ", 0) == 0) {
      server_pid_ = std::atoi(line.c_str() + 6);
      break;
    } else {
      // "error: …" and the log's last lines, until the service has cleaned up and ended.
      std::string message = "PostgreSQL did not start: " + (line.rfind("error: ", 0) == 0 ? line.substr(7) : line);
      for (;;) {
        std::string more;
        try {
          more = service_.read_line(answer_within);
        } catch (const std::runtime_error&) {
          break;  // the service ended: its directory is gone
        }
        if (more.rfind("log-name ", 0) == 0) {
          message += "\n" + more.substr(9) + " (last lines):";
        } else if (more.rfind("log: ", 0) == 0) {
          message += "\n  " + more.substr(5);
        } else {
          message += "\n" + (more.rfind("error: ", 0) == 0 ? more.substr(7) : more);
        }
      }
      throw std::runtime_error(message);
    }
  }
  conninfo_ = conninfo_for(directory_);
}

}  // namespace trident::scenarios
