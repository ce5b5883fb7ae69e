// Lesson cell "Process Communication with Queues": a producer process and a consumer process
// exchange items through an inter-process queue. The lesson ends the stream with a `None`
// sentinel; here the producer closes the queue, and the consumer's `receive` returns nothing once
// it has drained what is left. The consumer reports what it consumed through a second queue.

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "cell.hpp"
#include "trident/proc/process.hpp"
#include "trident/proc/queue.hpp"
#include "trident/proc/worker_main.hpp"

namespace trident::lesson {

namespace {

// The children print themselves (their stdout is the parent's), unless the tour is quiet.
void producer(proc::queue<std::string> items, std::vector<std::string> data, bool verbose) {
  for (const auto& item : data) {
    if (verbose) std::printf("  [producer %d] producing %s\n", proc::current_pid(), item.c_str());
    std::fflush(stdout);
    items.send(item);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  items.close();  // no sentinel: closing ends the consumer's loop
}
TRIDENT_TASK(producer);

void consumer(proc::queue<std::string> items, proc::queue<std::string> report, bool verbose) {
  while (auto item = items.receive()) {
    if (verbose) std::printf("  [consumer %d] consuming %s\n", proc::current_pid(), item->c_str());
    std::fflush(stdout);
    report.send(*item);
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
  }
  report.close();
}
TRIDENT_TASK(consumer);

}  // namespace

std::string process_queue(output& out) {
  const std::vector<std::string> data{"data_1", "data_2", "data_3", "data_4"};
  proc::queue<std::string> items(8);
  proc::queue<std::string> report(8);
  proc::process producer_process(producer, items, data, !out.quiet());
  proc::process consumer_process(consumer, items, report, !out.quiet());
  std::fflush(stdout);  // the children share stdout: nothing of ours may be buffered twice
  producer_process.start();
  consumer_process.start();
  out.line("Started producer (PID {}) and consumer (PID {})", producer_process.pid(), consumer_process.pid());
  std::vector<std::string> consumed;
  while (auto item = report.receive()) consumed.push_back(*item);
  producer_process.join();
  consumer_process.join();
  out.line("All processing complete; exit codes {} and {}", producer_process.exitcode().value_or(-999),
           consumer_process.exitcode().value_or(-999));
  check(consumed == data, "the consumer did not receive every item in order");
  check(producer_process.exitcode() == 0 && consumer_process.exitcode() == 0, "a child process failed");
  return fmt::format("{} items passed from process {} to process {} through a shared-memory queue", consumed.size(),
                     producer_process.pid(), consumer_process.pid());
}

}  // namespace trident::lesson
