#pragma once
/// @file
/// `postgres_server`: a private PostgreSQL server for one run of the db scenario — Debian's own
/// `initdb` and `postgres`, a fresh cluster in a temporary directory, reachable through a Unix
/// socket in that directory only (no TCP port), stopped and removed when released.
///
/// The server is started by the "postgres" scenario service (scenario_service.hpp), so it runs
/// outside this process's tree — measuring a model counts the client, not the server — and it
/// ends with this process however this process ends.
///
/// @par Lifecycle, step by step
/// 1. The service sweeps `<base>/trident-pg-*` directories left by runs whose service is gone
///    (killed before it could clean up): any process still working in one is killed, the
///    directory is removed.
/// 2. It creates `<base>/trident-pg-<service pid>-XXXXXX` with an `owner` file (the service's
///    pid and start time), a `data` directory (the cluster), a `run` directory (the socket),
///    and the logs of each step, `initdb.log` and `server.log`.
/// 3. PostgreSQL refuses to run as root: when the service is root, `initdb` and `postgres` run
///    as `nobody` (set in the forked child before exec; `data` and `run` belong to it). Each
///    child asks the kernel for a signal when the service dies (PR_SET_PDEATHSIG, set after
///    the user change, which would clear it): SIGQUIT, PostgreSQL's immediate shutdown.
/// 4. `initdb`, then `postgres`; the service waits until the server answers (libpq's PQping),
///    then reports ready. A failure — a bad setting, a busy socket, no permission — ends the
///    service with the message and the last lines of the server's log, and nothing left.
/// 5. Released (this object stopped or destroyed) or orphaned (this process died: its release
///    descriptor turned readable) or sent SIGTERM/SIGINT/SIGHUP, the service stops the server
///    with a fast shutdown (SIGINT), SIGKILLs it after `stop_grace` if it is still there, then
///    kills any process still working in the data directory (PostgreSQL's children each call setsid, so the working
///    directory is what finds them all), and removes the directory.
///
/// Trust authentication is safe here: the socket's directory is private to the server's user,
/// and root, which may enter any directory.
///
/// @par Thread safety
/// One thread at a time per object; `conninfo()` may be read from any thread while the object
/// lives.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "scenario_service.hpp"

namespace trident::scenarios {

/// The newest `/usr/lib/postgresql/<version>/bin` that holds both `initdb` and `postgres`.
/// Throws `scenario_skipped` ("PostgreSQL is not installed: sudo apt-get install postgresql")
/// when there is none.
[[nodiscard]] std::filesystem::path find_postgres_bin_dir();

/// How a private server is set up.
struct postgres_options {
  /// Where Debian's `initdb` and `postgres` are; empty: `find_postgres_bin_dir()`.
  std::filesystem::path bin_dir;
  /// Where the run's directory is made and stale ones are swept. Short on purpose: the socket's
  /// path must fit in 107 bytes.
  std::filesystem::path base_dir = "/tmp";
  /// Server memory for table pages; enough to hold the scenario's tables.
  std::string shared_buffers = "128MB";
  /// Extra settings, "name=value", passed as `-c` after Trident's own (so they win).
  std::vector<std::string> settings;
  /// How long `initdb` plus the server's start may take.
  std::chrono::seconds start_timeout{120};
  /// How long a fast shutdown may take before the server is killed.
  std::chrono::seconds stop_grace{10};
};

/// A running private PostgreSQL server. Move-only. Destroying it stops the server and removes its
/// directory, waiting for both.
class postgres_server {
 public:
  /// Starts the server and waits until it accepts connections. Throws `scenario_skipped` when
  /// PostgreSQL is not installed, std::runtime_error with the server's own words (and its log's
  /// last lines) when it cannot start — after the directory was removed.
  explicit postgres_server(const postgres_options& options = {});
  postgres_server(postgres_server&&) noexcept = default;
  postgres_server& operator=(postgres_server&&) noexcept = default;
  ~postgres_server() = default;

  /// A libpq connection string for the server's superuser and the `postgres` database.
  [[nodiscard]] const std::string& conninfo() const noexcept { return conninfo_; }
  /// The run's directory (`<base>/trident-pg-<pid>-XXXXXX`).
  [[nodiscard]] const std::filesystem::path& directory() const noexcept { return directory_; }
  /// The service process that owns the server (outside this process's tree).
  [[nodiscard]] int service_pid() const noexcept { return service_.pid(); }
  /// The postmaster: the server process that starts every other one.
  [[nodiscard]] int server_pid() const noexcept { return server_pid_; }

  /// Stops the server and removes the directory; returns false when the service did not finish
  /// within its bound. Idempotent.
  bool stop() { return service_.stop(); }

 private:
  scenario_service service_;
  std::filesystem::path directory_;
  std::string conninfo_;
  int server_pid_ = 0;
};

/// Removes `base_dir/trident-pg-*` directories of this user whose service is no longer running,
/// killing a server still running in one. Returns how many it removed. Every start does this.
std::size_t sweep_stale_postgres_dirs(const std::filesystem::path& base_dir);

}  // namespace trident::scenarios
