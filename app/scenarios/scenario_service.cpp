// scenario_service: a scenario's service as a detached proc::process and the queue of its lines.

#include "scenario_service.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace trident::scenarios {
namespace {

constexpr std::size_t line_capacity = 64;
constexpr std::size_t max_line_bytes = 2000;

}  // namespace

void report(proc::queue<std::string>& lines, std::string line) {
  if (line.size() > max_line_bytes) line.resize(max_line_bytes);
  (void)lines.try_send(line);
}

scenario_service::scenario_service(service_task task, std::vector<std::string> args,
                                   std::chrono::milliseconds stop_timeout)
    : lines_(line_capacity, 4096), process_(task, lines_, std::move(args)), stop_timeout_(stop_timeout) {
  process_.start(proc::start_mode::detached);
}

scenario_service& scenario_service::operator=(scenario_service&& other) noexcept {
  if (this != &other) {
    stop();
    lines_ = std::move(other.lines_);
    process_ = std::move(other.process_);
    stop_timeout_ = other.stop_timeout_;
  }
  return *this;
}

scenario_service::~scenario_service() { stop(); }

std::string scenario_service::read_line(std::chrono::milliseconds timeout) {
  if (process_.pid() <= 0) throw std::runtime_error("service already stopped");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    // Short waits: a service that dies says nothing on the queue, its process's end tells.
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    auto line = lines_.receive_for(std::clamp(left, std::chrono::milliseconds(0), std::chrono::milliseconds(20)));
    if (line) return std::move(*line);
    if (!process_.is_alive()) {
      // What it said before it ended is on the queue already.
      if (auto last = lines_.try_receive()) return std::move(*last);
      throw std::runtime_error("service ended without a word");
    }
    if (left.count() <= 0) throw std::runtime_error("service did not answer in time");
  }
}

bool scenario_service::stop() {
  if (process_.pid() <= 0) return true;
  process_.release();
  return process_.join(stop_timeout_);
}

}  // namespace trident::scenarios
