// The process layer's low-level interface (trident/proc/lowlevel.hpp): encoded calls run here or
// on a pool, their results kept as bytes for whoever carries them further; and the description
// of an exception that every carrier sends across a process boundary.

#include "trident/proc/lowlevel.hpp"

#include <cxxabi.h>

#include <memory>
#include <typeinfo>

#include "trident/core/demangle.hpp"
#include "trident/proc/detail/pool_job.hpp"

namespace trident::proc::lowlevel {

std::string run_encoded(call_kind kind, std::string_view payload) {
  const payload_parts parts = split_payload(payload);
  const detail::registered_task* task = detail::find_task(parts.task_name);
  if (task == nullptr) {
    throw unregistered_task_error("this process has no task named '" + std::string(parts.task_name) +
                                  "' (is it the same binary, with TRIDENT_TASK in it?)");
  }
  std::string out;
  (kind == call_kind::chunk ? task->chunk : task->one)(parts.arguments, out);
  return out;
}

exec::future<std::string> submit_encoded(process_pool& pool, call_kind kind, std::string payload,
                                         std::chrono::milliseconds timeout) {
  const detail::registered_task* task = detail::find_task(payload_task_name(payload));
  if (task == nullptr) {
    throw unregistered_task_error("no task named '" + std::string(payload_task_name(payload)) + "' is registered");
  }
  // The registry's string names the task: it lives as long as the program, the payload may not.
  auto job = std::make_unique<promised_job<encoded_result, detail::pool_job>>(
      encoded_call{kind, std::move(payload), task->name});
  job->timeout = timeout;
  detail::spill_large_payload(*job);
  auto f = job->take_future();
  pool.enqueue(std::move(job));
  return f;
}

std::pair<std::string, std::string> describe_exception(std::exception_ptr error) {
  try {
    std::rethrow_exception(std::move(error));
  } catch (const remote_error& e) {
    return {e.type_name(), e.message()};
  } catch (const std::exception& e) {
    return {demangle(typeid(e)), e.what()};
  } catch (...) {
    const std::type_info* t = abi::__cxa_current_exception_type();
    return {t != nullptr ? demangle(t->name()) : "unknown", "(exception not derived from std::exception)"};
  }
}

}  // namespace trident::proc::lowlevel
