// service_process: scenario services outside this process's tree, ending with it.

#include "service_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

extern char** environ;

namespace trident::scenarios {
namespace {

constexpr const char* service_flag = "--trident-scenario-service";

std::map<std::string, service_function>& registry() {
  static std::map<std::string, service_function> services;
  return services;
}

[[noreturn]] void throw_errno(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

void write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // the starter is gone: nobody to tell
    }
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

void service_context::report(const std::string& line) const { write_all(report_fd_, line + "\n"); }

void service_context::wait_until_released() const {
  char byte;
  for (;;) {
    const ssize_t n = ::read(life_fd_, &byte, 1);
    if (n == 0) return;
    if (n < 0 && errno != EINTR) return;
  }
}

bool register_service(const char* name, service_function fn) {
  registry()[name] = fn;
  return true;
}

std::optional<int> service_main(int argc, char** argv) {
  if (argc < 5 || std::strcmp(argv[1], service_flag) != 0) return std::nullopt;
  const int life_fd = std::atoi(argv[2]);
  const int report_fd = std::atoi(argv[3]);
  const std::string name = argv[4];
  // Leave the starter's tree: the starter waits for this process; the grandchild serves.
  const pid_t child = ::fork();
  if (child < 0) {
    std::fprintf(stderr, "trident: cannot start service %s: %s\n", name.c_str(), std::strerror(errno));
    return 1;
  }
  if (child > 0) ::_exit(0);
  ::setsid();  // a terminal's Ctrl-C goes to the starter, which releases the service in order
  // What the service starts (a database server, say) must not hold these pipes open.
  ::fcntl(life_fd, F_SETFD, FD_CLOEXEC);
  ::fcntl(report_fd, F_SETFD, FD_CLOEXEC);
  const service_context context(life_fd, report_fd);
  const auto it = registry().find(name);
  if (it == registry().end()) {
    context.report("error: no service named " + name);
    return 2;
  }
  context.report("pid " + std::to_string(::getpid()));
  std::vector<std::string> args(argv + 5, argv + argc);
  return it->second(args, context);
}

service_process::service_process(const std::string& name, const std::vector<std::string>& args,
                                 std::chrono::milliseconds stop_timeout)
    : stop_timeout_(stop_timeout) {
  int life[2];
  int report[2];
  if (::pipe2(life, O_CLOEXEC) != 0) throw_errno("service_process: pipe");
  if (::pipe2(report, O_CLOEXEC) != 0) {
    const int saved = errno;
    ::close(life[0]);
    ::close(life[1]);
    errno = saved;
    throw_errno("service_process: pipe");
  }
  // The child sees the two ends it keeps as descriptors 3 and 4 (dup2 clears close-on-exec).
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, life[0], 3);
  posix_spawn_file_actions_adddup2(&actions, report[1], 4);
  std::vector<std::string> words{"trident-service", service_flag, "3", "4", name};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);
  pid_t child = 0;
  const int rc = ::posix_spawn(&child, "/proc/self/exe", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(life[0]);
  ::close(report[1]);
  if (rc != 0) {
    ::close(life[1]);
    ::close(report[0]);
    throw std::system_error(rc, std::generic_category(), "service_process: cannot start /proc/self/exe");
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  life_write_ = life[1];
  report_read_ = report[0];
  try {
    const std::string first = read_line(std::chrono::seconds(30));
    if (first.rfind("pid ", 0) != 0) throw std::runtime_error("service " + name + ": " + first);
    pid_ = std::atoi(first.c_str() + 4);
  } catch (...) {
    stop();
    throw;
  }
}

service_process::service_process(service_process&& other) noexcept
    : life_write_(std::exchange(other.life_write_, -1)),
      report_read_(std::exchange(other.report_read_, -1)),
      pid_(std::exchange(other.pid_, 0)),
      buffer_(std::move(other.buffer_)),
      stop_timeout_(other.stop_timeout_) {}

service_process& service_process::operator=(service_process&& other) noexcept {
  if (this != &other) {
    stop();
    life_write_ = std::exchange(other.life_write_, -1);
    report_read_ = std::exchange(other.report_read_, -1);
    pid_ = std::exchange(other.pid_, 0);
    buffer_ = std::move(other.buffer_);
    stop_timeout_ = other.stop_timeout_;
  }
  return *this;
}

service_process::~service_process() { stop(); }

std::string service_process::read_line(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (const auto newline = buffer_.find('\n'); newline != std::string::npos) {
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      return line;
    }
    if (report_read_ < 0) throw std::runtime_error("service already stopped");
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw std::runtime_error("service did not answer in time");
    pollfd p{report_read_, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) throw_errno("service_process: poll");
    if (ready <= 0) continue;
    char chunk[4096];
    const ssize_t n = ::read(report_read_, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("service_process: read");
    }
    if (n == 0) {
      std::string last = std::move(buffer_);
      buffer_.clear();
      throw std::runtime_error(last.empty() ? "service ended without a word" : "service ended: " + last);
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

bool service_process::stop() {
  if (life_write_ >= 0) {
    ::close(life_write_);
    life_write_ = -1;
  }
  if (report_read_ < 0) return true;
  // The service closes its report pipe when it exits: wait for end-of-file.
  const auto deadline = std::chrono::steady_clock::now() + stop_timeout_;
  bool finished = false;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{report_read_, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    char chunk[4096];
    const ssize_t n = ::read(report_read_, chunk, sizeof chunk);
    if (n == 0) {
      finished = true;
      break;
    }
    if (n < 0 && errno != EINTR) break;
  }
  ::close(report_read_);
  report_read_ = -1;
  return finished;
}

}  // namespace trident::scenarios
