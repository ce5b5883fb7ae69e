// TLS and HTTP/2 against a real server: Debian's nginx on 127.0.0.1 with a self-signed
// certificate made by openssl for the test. Skipped where either is missing.
//
// Checks: verification is on by default (a self-signed certificate fails with `tls`); turning
// it off is explicit, per request; ALPN then gives HTTP/2, and concurrent requests share it.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "trident/aio/event_loop.hpp"
#include "trident/aio/gather.hpp"
#include "trident/aio/run.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/http/session.hpp"
#include "trident/testing/http_server.hpp"

extern char** environ;

namespace aio = trident::aio;
namespace http = trident::http;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

/// nginx serving `www/hello.txt` over TLS + HTTP/2 from a temporary prefix; stopped and removed
/// on destruction. `ok()` is false (with `why`) when it could not be started.
class tls_nginx {
 public:
  tls_nginx() {
    if (!fs::exists("/usr/sbin/nginx") || !fs::exists("/usr/bin/openssl")) {
      why = "nginx or openssl not installed";
      return;
    }
    std::string t = (fs::temp_directory_path() / "trident-tls-XXXXXX").string();
    prefix_ = ::mkdtemp(t.data());
    ::chmod(prefix_.c_str(), 0755);
    fs::create_directories(prefix_ / "www");
    fs::create_directories(prefix_ / "tmp");
    std::ofstream(prefix_ / "www" / "hello.txt") << "hello over tls\n";
    const std::string cert = (prefix_ / "cert.pem").string(), key = (prefix_ / "key.pem").string();
    const std::string gen =
        "/usr/bin/openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
        "-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 -keyout " +
        key + " -out " + cert + " >/dev/null 2>&1";
    if (std::system(gen.c_str()) != 0) {
      why = "openssl could not make a certificate";
      return;
    }
    port_ = trident::testing::closed_loopback_port();
    const std::string p = prefix_.string();
    std::ofstream(prefix_ / "nginx.conf")
        << "daemon off;\nmaster_process off;\npid " << p << "/nginx.pid;\nerror_log " << p << "/error.log warn;\n"
        << "events { worker_connections 256; }\n"
        << "http {\n  access_log off;\n  default_type text/plain;\n"
        << "  client_body_temp_path " << p << "/tmp/b;\n  proxy_temp_path " << p << "/tmp/p;\n"
        << "  fastcgi_temp_path " << p << "/tmp/f;\n  uwsgi_temp_path " << p << "/tmp/u;\n  scgi_temp_path " << p
        << "/tmp/s;\n"
        << "  server {\n    listen 127.0.0.1:" << port_ << " ssl http2;\n    ssl_certificate " << cert
        << ";\n    ssl_certificate_key " << key << ";\n    root " << p << "/www;\n  }\n}\n";
    const std::string conf = (prefix_ / "nginx.conf").string();
    std::vector<std::string> args{"/usr/sbin/nginx", "-p", p, "-c", conf};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    const int rc = ::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      pid_ = -1;
      why = "nginx did not start";
      return;
    }
    // Ready when the error log says so is fragile; poll the port instead.
    for (int i = 0; i < 500; ++i) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        why = "nginx exited at start (see its error.log)";
        return;
      }
      const std::string probe = "exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(port_) + " 2>/dev/null";
      if (std::system(("bash -c '" + probe + "'").c_str()) == 0) return;
      std::this_thread::sleep_for(10ms);
    }
    why = "nginx did not listen in time";
  }
  tls_nginx(const tls_nginx&) = delete;
  tls_nginx& operator=(const tls_nginx&) = delete;
  ~tls_nginx() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    if (!prefix_.empty()) fs::remove_all(prefix_);
  }
  [[nodiscard]] bool ok() const { return why.empty(); }
  [[nodiscard]] std::string url(const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::string why;

 private:
  fs::path prefix_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace

TEST(http_tls, verification_is_on_by_default_and_off_only_when_asked_then_http2) {
  tls_nginx server;
  if (!server.ok()) GTEST_SKIP() << server.why;
  auto main = [&]() -> aio::task<void> {
    http::session s;
    // 1. Default: the self-signed certificate is rejected.
    try {
      co_await s.get(server.url("/hello.txt"));
      ADD_FAILURE() << "a self-signed certificate was accepted";
    } catch (const http::transfer_error& e) {
      EXPECT_EQ(e.kind(), http::error_kind::tls) << e.what();
    }
    // 2. Explicitly off for these requests: HTTP/2 by ALPN, many requests at once.
    http::request r;
    r.url = server.url("/hello.txt");
    r.options.verify_tls = false;
    std::vector<aio::task<http::response>> tasks;
    for (int i = 0; i < 20; ++i) tasks.push_back(s.send(r));
    auto rs = co_await aio::gather(std::move(tasks));
    for (const auto& resp : rs) {
      EXPECT_EQ(resp.status(), 200);
      EXPECT_EQ(resp.text(), "hello over tls\n");
      EXPECT_EQ(resp.http_version(), "2");
    }
    // 3. Off for the session, and a request that sets only a header keeps it off.
    http::session_options insecure;
    insecure.defaults.verify_tls = false;
    http::session s2(insecure);
    http::request h;
    h.url = server.url("/hello.txt");
    h.headers.emplace_back("X-Test", "only a header");
    http::response kept = co_await s2.send(h);
    EXPECT_EQ(kept.status(), 200);
  };
  aio::run(main());
}
